"""Secrets never reach the store: redaction by value of every string a run writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import trackrun
from trackrun.redaction import (
    is_secret_name,
    is_secret_param_name,
    redact_text,
    scrub_environ_for_child,
    secret_values,
)

SECRETS = {
    "MY_API_KEY": "sk-live-0123456789abcdef",
    "SERVICE_PASS": "correct-horse-battery",
    "STRIPE_SK": "stripe0secret0value77",
    "DB_PWD": "pwd-value-4242",
    "APP_PRIVATE": "private-blob-xyz",
    "WEB_SESSION": "session-cookie-31337",
}
DB_PASSWORD = "pg-pass-5678"
DATABASE_URL = f"postgres://alice:{DB_PASSWORD}@db.example.com:5432/prod"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    return {**SECRETS, "DATABASE_URL": DB_PASSWORD}


@pytest.mark.parametrize(
    "name", ["SERVICE_PASS", "STRIPE_SK", "DB_PWD", "APP_PRIVATE", "WEB_SESSION", "X_PW"]
)
def test_widened_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["JPY_SESSION_NAME", "XDG_SESSION_TYPE", "DBUS_SESSION_BUS_ADDRESS", "COMPASS", "PATH"]
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("hf_token", True),
        ("db_password", True),
        ("client_secret", True),
        ("aws_access_key", True),
        ("max_tokens", False),
        ("sort_key", False),
        ("lr", False),
        ("tokenizer", False),
    ],
)
def test_secret_param_names_by_whole_words(name: str, secret: bool) -> None:
    assert is_secret_param_name(name) is secret


def test_redact_text_names_the_variable(secret_env: dict[str, str]) -> None:
    text = f"key={SECRETS['MY_API_KEY']} pass={SECRETS['SERVICE_PASS']} url={DATABASE_URL}"
    assert redact_text(text) == (
        "key=<redacted:MY_API_KEY> pass=<redacted:SERVICE_PASS> "
        "url=postgres://alice:<redacted:DATABASE_URL>@db.example.com:5432/prod"
    )
    assert secret_values()["DATABASE_URL"] == DB_PASSWORD
    assert redact_text("nothing to hide") == "nothing to hide"


def test_secret_values_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "LATE_TOKEN" not in secret_values()
    monkeypatch.setenv("LATE_TOKEN", "late-token-value-1")
    assert secret_values()["LATE_TOKEN"] == "late-token-value-1"
    assert redact_text("x late-token-value-1 y") == "x <redacted:LATE_TOKEN> y"


def test_child_environment_drops_url_passwords_too(secret_env: dict[str, str]) -> None:
    child = scrub_environ_for_child(os.environ)
    assert not set(SECRETS) & set(child)
    assert "DATABASE_URL" not in child and "PATH" in child


def _store_bytes(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_no_secret_value_anywhere_in_the_store(
    secret_env: dict[str, str], isolated_store: Path, tmp_path: Path
) -> None:
    api_key = os.environ["MY_API_KEY"]  # what an auto-param of `api_key = os.environ[...]` holds
    params = {"api_key": api_key, "dsn": DATABASE_URL, "lr": 0.1}
    note = f"uses {SECRETS['SERVICE_PASS']} and {SECRETS['STRIPE_SK']}"
    with pytest.raises(RuntimeError), trackrun.start_run(params=params, note=note) as run:
        trackrun.log_params(token="tok-not-in-env-123456", user=SECRETS["DB_PWD"])
        trackrun.tag(f"sess-{SECRETS['WEB_SESSION']}")
        trackrun.log(loss=0.5, step=0)
        artifact = tmp_path / "result.txt"
        artifact.write_text("fine")
        trackrun.artifact(artifact)
        raise RuntimeError(f"login failed for {DATABASE_URL} with {SECRETS['APP_PRIVATE']}")
    table = trackrun.runs()  # ingest, so the index is searched as well
    assert table[0]["status"] == "failed"
    files = _store_bytes(isolated_store)
    assert run.paths.run_json in files and (isolated_store / "index.duckdb") in files
    hidden = [*secret_env.values(), "tok-not-in-env-123456"]
    leaks = [(p.name, s) for p, data in files.items() for s in hidden if s.encode() in data]
    assert leaks == []
    row = table[0]
    assert row["params.api_key"] == "<redacted:api_key>"
    assert row["params.token"] == "<redacted:token>"
    assert row["params.user"] == "<redacted:DB_PWD>"
    assert row["params.dsn"] == "postgres://alice:<redacted:DATABASE_URL>@db.example.com:5432/prod"
    assert row["params.lr"] == 0.1
    info = trackrun.get_store().summary(run.run_id)
    assert "<redacted:DATABASE_URL>" in info["error"] and "<redacted:APP_PRIVATE>" in info["error"]
