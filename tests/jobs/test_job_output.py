"""A detached job's output: every line it prints counts as activity of the run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from trackrun import jobs
from trackrun.events import read_events
from trackrun.store import Store

from .conftest import MakeJob, wait_status

pytestmark = pytest.mark.slow

# The main thread blocks in one C call; a worker thread prints a line every 0.2 s.
_HUNG_BUT_PRINTING = """
import threading, time
def chatter():
    while True:
        print("batch done", flush=True)
        time.sleep(0.2)
threading.Thread(target=chatter, daemon=True).start()
time.sleep(600)
"""


def _heartbeats(events: Path, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    beats: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        beats = [e for e in read_events(events, 0)[0] if e["type"] == "heartbeat"]
        if len(beats) >= count:
            return beats
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} heartbeats within {timeout} s: {beats}")


def test_output_lines_keep_a_job_from_being_flagged_stalled(
    store_root: Path, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job inherits these from the launching environment (job/spec.json).
    monkeypatch.setenv("TRACKRUN_STALL_AFTER", "1")
    monkeypatch.setenv("TRACKRUN_HEARTBEAT_INTERVAL", "0.2")
    run = make_job(_HUNG_BUT_PRINTING)
    jobs.submit(run.root)
    store = Store(store_root, lease=0)
    try:
        wait_status(store, run.run_id, {"running"})
        beats = _heartbeats(run.events, 15)  # 3 s: three times the stall threshold
        assert all(h["stalled_for"] == 0 for h in beats), beats
        assert run.output_log.read_text().count("batch done\n") >= 10
    finally:
        jobs.kill(store, run.run_id)
