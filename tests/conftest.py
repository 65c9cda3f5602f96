"""Shared fixtures: every test gets its own store and never touches the user's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackrun.api

# Real Jupyter servers in-process for the REST and pairing tests (jp_fetch, jp_serverapp...).
pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point TRACKRUN_HOME at a fresh folder; yield that store root."""
    root = tmp_path / "store"
    monkeypatch.setenv("TRACKRUN_HOME", str(root))
    monkeypatch.setenv("TRACKRUN_FLUSH_INTERVAL", "0.5")
    yield root
    for store in trackrun.api._stores.values():
        store.close()
    trackrun.api._stores.clear()


def run_python(
    code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    """Run ``code`` in a fresh interpreter; return stdout (raises on a non-zero exit)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
