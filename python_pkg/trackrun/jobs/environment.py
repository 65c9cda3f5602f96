"""A job's environment: secrets travel in process memory only, never in a file.

The spec on disk (``job/spec.json``) holds the launching environment without its secrets:
secret variables are only named, and a secret's value inside another variable (the
password in ``DATABASE_URL``) is redacted. The job gets the real values from the process
that launches its supervisor (the kernel, or the Jupyter server's drainer), through
:func:`job_environment`. Jupyter's own credentials never reach a job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from trackrun.redaction import is_secret_name, redact_text_with, scan_secrets

#: Jupyter's own credentials: they would let a job drive the server, and no job needs them.
_JUPYTER_CREDENTIALS = frozenset({"JUPYTER_TOKEN", "JPY_API_TOKEN"})


def is_jupyter_credential(name: str) -> bool:
    """True for the variables holding Jupyter's own credentials."""
    upper = name.upper()
    return upper in _JUPYTER_CREDENTIALS or upper.startswith("JUPYTERHUB_")


def without_jupyter_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` minus Jupyter's credentials: the environment a supervisor starts with."""
    return {k: v for k, v in environ.items() if not is_jupyter_credential(k)}


def redact(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with the values of ``environ``'s secrets (and URL passwords) redacted."""
    return redact_text_with(text, scan_secrets(environ))


def spec_environment(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """What the spec may store of ``environ``: non-secret variables (secret values inside
    them redacted) and the sorted names of the secret variables, values left out."""
    secrets = scan_secrets(environ)
    kept: dict[str, str] = {}
    names: list[str] = []
    for key, value in environ.items():
        if is_jupyter_credential(key):
            continue
        if is_secret_name(key):
            names.append(key)
        else:
            kept[key] = redact_text_with(value, secrets)
    return kept, sorted(names)


def job_environment(spec_env: Mapping[str, str], launcher: Mapping[str, str]) -> dict[str, str]:
    """The job's environment: the spec's, with the launching process's secret variables
    and the real values of variables the spec holds redacted (never Jupyter's credentials).
    """
    env = dict(spec_env)
    for key, value in launcher.items():
        if is_jupyter_credential(key):
            continue
        if is_secret_name(key) or "<redacted" in env.get(key, ""):
            env[key] = value
    return env


def missing_in_server(environ: Mapping[str, str], server_pid: int) -> list[str]:
    """Secret variables set in ``environ`` (the kernel) but absent from the environment of
    the server process ``server_pid`` (which would launch the job): the job will lack them.
    Empty when the server's environment cannot be read."""
    try:
        raw = Path(f"/proc/{server_pid}/environ").read_bytes()
    except OSError:
        return []
    server = {entry.partition(b"=")[0].decode("utf-8", "replace") for entry in raw.split(b"\0")}
    return sorted(
        k for k in environ if is_secret_name(k) and not is_jupyter_credential(k) and k not in server
    )
