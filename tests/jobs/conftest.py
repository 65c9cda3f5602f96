"""Fixtures for the jobs tests: a store and detached runs made without a kernel."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from trackrun import jobs
from trackrun.layout import RunPaths
from trackrun.run import Run
from trackrun.store import Store

MakeJob = Callable[..., RunPaths]


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def make_job(store_root: Path) -> MakeJob:
    """Write a queued detached run whose cell is ``source`` (no inputs); return its paths."""

    def make(source: str, retries: int = 0, name: str | None = None) -> RunPaths:
        run = Run.start(
            store_root,
            name=name,
            launch={"kind": "detached", "detached": True, "retries": retries},
            status="queued",
        )
        jobs.write_job(run.paths, source, jobs.freeze_inputs({}, []), [], None, retries, None)
        run.release()
        return run.paths

    return make


def wait_status(store: Store, run_id: str, statuses: set[str], timeout: float = 60) -> str:
    """Wait until the run's status is one of ``statuses``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = str(store.summary(run_id)["status"])
        if status in statuses:
            return status
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {status} after {timeout}s")


def wait_for_file(path: Path, timeout: float = 60) -> str:
    """Wait until ``path`` exists and is non-empty; return its text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")
