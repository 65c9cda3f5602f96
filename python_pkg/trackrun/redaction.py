"""Secrets never reach the store: finding secret values in the environment and redacting text.

Redaction is by value: every string the store writes is scanned for the values of the
environment's secret variables, and each one found becomes ``<redacted:NAME>``. Standard
library only, so every writer (event files, run.json, output tee, job files) can call it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"
#: A variable whose upper-cased name contains one of these holds a secret. This covers
#: JUPYTER_TOKEN, JPY_API_TOKEN, JUPYTERHUB_API_TOKEN, JUPYTERHUB_COOKIE_SECRET,
#: JUPYTER_GATEWAY_AUTH_TOKEN, JUPYTER_GATEWAY_HTTP_PWD, CONFIGPROXY_AUTH_TOKEN, ...
SECRET_NAME_PARTS = (
    "TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "CREDENTIAL", "AUTH",
    "COOKIE", "PRIVATE", "SIGNATURE", "JWT", "SESSION",
)  # fmt: skip
#: ... and one whose name ends with one of these (SERVICE_PASS, STRIPE_SK, DB_PASS).
SECRET_NAME_SUFFIXES = ("_PASS", "_SK", "_PW")
# PWD/OLDPWD are directories; GIT_AUTHOR_* and friends merely contain "AUTH". The session
# variables below name a notebook, a desktop session or a bus, not a credential.
_NOT_SECRET_NAMES = frozenset(
    {"PWD", "OLDPWD", "JPY_SESSION_NAME", "SESSION_MANAGER", "DESKTOP_SESSION"}
)
_NOT_SECRET_PREFIXES = ("XDG_SESSION_", "DBUS_SESSION_", "GDMSESSION")
#: Words of a parameter name that make its value a secret (api_key, db_password, hf_token).
_SECRET_PARAM_WORDS = frozenset(
    {"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "credential",
     "credentials", "cookie", "jwt"}
)  # fmt: skip
_SECRET_PARAM_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key")})
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_URL_USERINFO = re.compile(r"://([^\s/?#@'\"<>]+)@")
# Well-known token formats. One pattern each: a pattern that starts with a literal is searched
# fast, which matters for a 1 MB diff (one alternation is ~15x slower).
# Each with its literal start, so a line without it skips the regex (a substring test is
# ~20x cheaper): redaction runs on every line of output.
_TOKEN_LIKE = tuple(
    (literal, re.compile(p + r"\b"))
    for literal, p in (
        ("gh", r"gh[pousr]_[A-Za-z0-9]{20,}"), ("github_pat_", r"github_pat_\w{20,}"),
        ("glpat-", r"glpat-[\w-]{20,}"), ("hf_", r"hf_[A-Za-z0-9]{30,}"), ("sk-", r"sk-[\w-]{20,}"),
        ("xox", r"xox[abprs]-[\w-]{10,}"), ("AKIA", r"AKIA[0-9A-Z]{16}"),
    )
)  # fmt: skip
_TRIVIAL_VALUES = frozenset({"true", "false", "none", "null", "yes", "no"})
#: Secret values at least this long are replaced wherever they occur in text; shorter ones
#: only when they are the whole string (as substrings they would hit random text).
MIN_SUBSTRING_SECRET = 6
#: How long (seconds) the scan of the environment for secret values is reused.
_SECRETS_TTL_S = 1.0


def is_secret_name(name: str) -> bool:
    """True when the environment variable ``name`` (any case) looks like it holds a secret."""
    upper = name.upper()
    if upper in _NOT_SECRET_NAMES or upper.startswith(_NOT_SECRET_PREFIXES):
        return False
    if upper.endswith(SECRET_NAME_SUFFIXES):
        return True
    upper = upper.replace("AUTHOR", "")
    return any(part in upper for part in SECRET_NAME_PARTS)


def is_secret_param_name(name: str) -> bool:
    """True when a parameter called ``name`` holds a secret (``api_key``, ``hfToken``...).

    Stricter than :func:`is_secret_name`, by whole words: ``max_tokens`` or ``sort_key`` are
    ordinary parameters.
    """
    words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
    if any(w in _SECRET_PARAM_WORDS for w in words):
        return True
    return any(pair in _SECRET_PARAM_PAIRS for pair in zip(words, words[1:], strict=False))


def _url_password(value: str) -> str | None:
    """The password of a ``scheme://user:password@host`` URL in ``value``, else None."""
    if "://" not in value or "@" not in value:
        return None
    match = _URL_USERINFO.search(value)
    if match is None:
        return None
    _user, sep, password = match.group(1).partition(":")
    return password if sep and password else None


def _scan_secrets(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, name) of every secret in ``env`` worth searching for, longest value first.

    A secret-named variable contributes its value; any variable holding a URL with a password
    (DATABASE_URL=postgres://u:pw@h) contributes that password.
    """
    found: dict[str, str] = {}
    for name, value in env.items():
        if is_secret_name(name) and len(value) >= 4 and value.lower() not in _TRIVIAL_VALUES:
            found.setdefault(value, name)
        password = _url_password(value)
        if password is not None and len(password) >= 4:
            found.setdefault(password, name)
    return sorted(found.items(), key=lambda item: len(item[0]), reverse=True)


_secrets_cache: tuple[float, int, list[tuple[str, str]]] = (-1e18, -1, [])


def current_secrets() -> list[tuple[str, str]]:
    """(value, name) of the secrets of ``os.environ`` (see _scan_secrets), longest first.

    Rescanned at most once a second unless the number of variables changes: this runs for
    every string written, and a scan of the environment costs microseconds.
    """
    global _secrets_cache
    now = time.monotonic()
    stamp, count, secrets = _secrets_cache
    if now - stamp > _SECRETS_TTL_S or count != len(os.environ):
        secrets = _scan_secrets(os.environ)
        _secrets_cache = (now, len(os.environ), secrets)
    return secrets


def secret_values() -> dict[str, str]:
    """The secret values of this process's environment, as {variable name: value}.

    Cached: rescanned when the number of variables changes or after a second.
    """
    return {name: value for value, name in current_secrets()}


def redact_text(text: str) -> str:
    """``text`` with every secret of the environment replaced by ``<redacted:NAME>``.

    Also removes passwords of ``scheme://user:password@host`` URLs and well-known token
    formats (``<redacted>``). Cheap for text without secrets: one substring search per secret
    value and a few literal-prefixed regex searches. Call it on every string the store writes.
    """
    return _redact_text(text, current_secrets())


def redact_tree(obj: Any) -> Any:
    """A copy of the JSON-like ``obj`` with every string (keys kept) passed through redact_text."""
    return redact_tree_with(obj, current_secrets())


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with the values of secret-named parameters (api_key, token, password...)
    replaced by ``<redacted:NAME>`` and secret values inside the others redacted."""
    secrets = current_secrets()
    return {
        k: f"<redacted:{k}>" if is_secret_param_name(k) and v is not None else
        redact_tree_with(v, secrets)
        for k, v in params.items()
    }  # fmt: skip


def _redact_text(text: str, secrets: list[tuple[str, str]]) -> str:
    """``text`` with the secret values, URL passwords and well-known token formats removed."""
    for secret, name in secrets:
        if len(secret) >= MIN_SUBSTRING_SECRET:
            if secret in text:
                text = text.replace(secret, f"<redacted:{name}>")
        elif text == secret:
            return f"<redacted:{name}>"
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(_redact_userinfo, text)
    for literal, pattern in _TOKEN_LIKE:
        if literal in text:
            text = pattern.sub(_redact_token, text)
    return text


def scan_secrets(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, name) of every secret in ``env`` (see ``redact_text_with``), longest first."""
    return _scan_secrets(env)


def redact_text_with(text: str, secrets: list[tuple[str, str]]) -> str:
    """``text`` with the given secrets (from ``scan_secrets``), URL passwords and token
    formats redacted: ``redact_text`` for an environment other than this process's."""
    return _redact_text(text, secrets)


def _redact_token(match: re.Match[str]) -> str:
    before = match.string[match.start() - 1 : match.start()]
    # Only at a word start ("desk-..." is no token); checked here to keep the patterns fast.
    inside_word = before != "" and (before.isalnum() or before in "_-")
    return match.group(0) if inside_word else REDACTED


def _redact_userinfo(match: re.Match[str]) -> str:
    user, sep, password = match.group(1).partition(":")
    if password.startswith("<redacted"):
        return match.group(0)
    # A bare user part is often a token itself (https://<token>@github.com).
    return f"://{user}:{REDACTED}@" if sep else f"://{REDACTED}@"


def redact_environ(env: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``env`` with secret values replaced by ``"<redacted>"``.

    Redacted: variables with a secret name, other values containing a secret variable's value,
    passwords in ``scheme://user:password@host`` URLs, and well-known token formats.
    """
    secrets = _scan_secrets(env)
    return {k: REDACTED if is_secret_name(k) else _redact_text(v, secrets) for k, v in env.items()}


def scrub_environ_for_child(env: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``env`` without the secret variables, for launching detached jobs.

    Dropped: secret-named variables and variables holding a URL with a password
    (``DATABASE_URL=postgres://u:pw@h``); job files must never hold a secret.
    """
    return {k: v for k, v in env.items() if not is_secret_name(k) and _url_password(v) is None}


def redact_argv(argv: list[str]) -> list[str]:
    """``argv`` with secret-looking option values (``--api-key=X``, ``--token X``) redacted."""
    secrets = current_secrets()
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        name, eq, _value = arg.partition("=")
        if arg.startswith("-") and is_secret_name(name.lstrip("-").replace("-", "_")):
            if eq:
                arg = f"{name}={REDACTED}"
            else:
                hide_next = True
        out.append(_redact_text(arg, secrets))
    return out


def redact_tree_with(obj: Any, secrets: list[tuple[str, str]]) -> Any:
    """A copy of the JSON-like ``obj`` with every string passed through ``_redact_text``."""
    if isinstance(obj, str):
        return _redact_text(obj, secrets)
    if isinstance(obj, dict):
        return {k: redact_tree_with(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_tree_with(v, secrets) for v in obj]
    return obj


class RedactingStream:
    """A text stream that passes everything to ``stream`` with secret values redacted: a
    detached job's stdout and stderr, which go straight into the run's output.log."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact_text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
