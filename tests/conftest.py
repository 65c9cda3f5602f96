"""Shared fixtures: every test gets its own store and never touches the user's."""

from __future__ import annotations

import contextlib
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
    _stop_leftover_processes(tmp_path)


def _stop_leftover_processes(folder: Path) -> None:
    """SIGKILL every process still working in ``folder`` (a job, supervisor or queue runner
    that a failed test left behind), so one failure never loads the tests after it."""
    marker = str(folder).encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker in cmdline and b"trackrun" in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(name), 9)


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


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs to fill for real (needs root, as in CI; elsewhere the test is skipped,
    never in CI)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        if os.environ.get("CI"):
            raise AssertionError(f"cannot mount a tmpfs in CI: {made.stderr.decode()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
