"""Killing detached runs: the whole tree goes, and nothing unrelated is ever signalled."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from trackrun import jobs, liveness
from trackrun.events import append_event
from trackrun.store import Store

from .conftest import MakeJob, wait_for_file, wait_status

pytestmark = [pytest.mark.slow, pytest.mark.chaos]


def _alive(pid: int) -> bool:
    token = liveness.process_start_time(pid)
    return token is not None


def _wait_gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_kill_reaches_a_grandchild_in_its_own_session(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    marker = tmp_path / "daemon.pid"
    # The job starts a helper in a new session (it leaves the job's process group), and that
    # helper starts a grandchild: neither is in the group the supervisor signals.
    inner = (
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '1000'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "p.wait()\n"
    )
    source = (
        "import subprocess, sys, time\n"
        f"helper = subprocess.Popen([sys.executable, '-c', {inner!r}], start_new_session=True)\n"
        "while True:\n    time.sleep(0.1)\n"
    )
    run = make_job(source)
    jobs.submit(run.root)
    store = Store(store_root, lease=0)
    wait_status(store, run.run_id, {"running"})
    grandchild = int(wait_for_file(marker))
    assert _alive(grandchild)
    _wait_recorded(run.events_of("supervisor"), grandchild)
    jobs.kill(store, run.run_id)
    assert store.summary(run.run_id)["status"] == "killed"
    assert _wait_gone(grandchild), "the grandchild in its own session survived the kill"


def _wait_recorded(events: Path, pid: int, timeout: float = 20) -> None:
    """Wait until the supervisor has recorded ``pid`` as one of the job's processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in events.read_text().splitlines():
            event = json.loads(line)
            if event.get("type") == "process" and event.get("pid") == pid:
                return
        time.sleep(0.05)
    raise AssertionError(f"the supervisor never recorded process {pid}")


def test_kill_never_signals_a_reused_pid(store_root: Path, make_job: MakeJob) -> None:
    # A queued run whose supervisor died long ago left an attempt pid behind; that pid now
    # belongs to an unrelated process (here: one we start), with another start time.
    run = make_job("print('never runs')")
    bystander = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    try:
        assert jobs.queue.claim(run.root)  # it was started once...
        append_event(
            run.events_of("supervisor"),
            "attempt",
            attempt=1,
            pid=bystander.pid,
            proc_start="1",  # ...by a process that started at another time
            state="started",
        )
        store = Store(store_root, lease=0)
        jobs.kill(store, run.run_id, timeout=1)
        assert store.summary(run.run_id)["status"] == "killed"
        assert bystander.poll() is None, "kill signalled an unrelated process"
    finally:
        bystander.kill()
        bystander.wait()


def test_killing_a_queued_run_means_it_never_starts(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    run = make_job(f"open({str(started)!r}, 'w').write('yes')")
    store = Store(store_root, lease=0)
    jobs.kill(store, run.run_id, timeout=1)
    assert store.summary(run.run_id)["status"] == "killed"
    handle = jobs.submit(run.root)  # a late drainer or submitter must not start it
    assert handle.ident == {}
    time.sleep(0.5)  # nothing to wait for: proving that nothing starts
    assert not (run.root / "supervisor.log").exists()
    assert not started.exists()
