"""Helpers for the sweep tests: queued jobs without a kernel, waiting, and run overlap."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trackrun import jobs
from trackrun.events import iter_events
from trackrun.jobs.sweep_runs import set_job_fields
from trackrun.layout import TERMINAL_STATUSES, RunPaths
from trackrun.run import Run
from trackrun.store import Store

MakeJob = Callable[..., RunPaths]


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def make_job(store_root: Path) -> MakeJob:
    """A queued detached run of ``source`` (reading ``inputs``), optionally in a sweep group."""

    def make(
        source: str,
        inputs: dict[str, Any] | None = None,
        sweep: str | None = None,
        parallel: int | None = None,
        gpu: str | None = None,
    ) -> RunPaths:
        values = dict(inputs or {})
        run = Run.start(
            store_root,
            launch={"kind": "detached", "detached": True},
            status="queued",
            provenance={},
        )
        frozen = jobs.freeze_inputs(values, list(values))
        jobs.write_job(run.paths, source, frozen, [], None, 0, gpu)
        run.release()
        if sweep:
            set_job_fields(run.paths, {"sweep": sweep, "parallel": parallel})
        return run.paths

    return make


def wait_until(check: Callable[[], Any], timeout: float = 120, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; return it (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_all_ended(store: Store, run_ids: list[str], timeout: float = 240) -> dict[str, str]:
    """Wait until every run has a final status; return run id -> status."""

    def ended() -> dict[str, str] | None:
        rows = store.runs(f"id in ({', '.join(run_ids)})")
        status = dict(zip(rows["run_id"], rows["status"], strict=True))
        done = len(status) == len(run_ids) and all(s in TERMINAL_STATUSES for s in status.values())
        return status if done else None

    result: dict[str, str] = wait_until(ended, timeout, f"{len(run_ids)} runs to end")
    return result


def max_overlap(store: Store, run_ids: list[str]) -> int:
    """The most runs that were running at the same moment, from their start and end times."""
    rows = store.runs(f"id in ({', '.join(run_ids)})")
    edges = []
    for start, end in zip(rows["started_at"], rows["ended_at"], strict=True):
        assert start is not None and end is not None
        edges += [(start, 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # an end before a start at a tie
        running += step
        peak = max(peak, running)
    return peak


def attempts_started(run: RunPaths) -> int:
    """How many attempts the run's supervisors started (2 would mean it ran twice)."""
    path = run.events_of("supervisor")
    if not path.exists():
        return 0
    return sum(
        1
        for event in iter_events(path)
        if event.get("type") == "attempt" and event.get("state") == "started"
    )
