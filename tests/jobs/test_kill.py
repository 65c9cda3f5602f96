"""Killing detached runs: the whole tree goes, and nothing unrelated is ever signalled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_kill_never_signals_a_process_whose_start_time_is_unknown(
    store_root: Path, make_job: MakeJob
) -> None:
    # The dead supervisor recorded a zombie leader and a descendant that ended mid-sample:
    # no start time for either. Their pids now belong to unrelated group leaders.
    run = make_job("print('never runs')")
    bystanders = [subprocess.Popen(["sleep", "1000"], start_new_session=True) for _ in range(2)]
    try:
        assert jobs.queue.claim(run.root)
        events = run.events_of("supervisor")
        append_event(events, "status", status="running", pid=2**22 + 1, proc_start="1")
        append_event(
            events, "attempt", attempt=1, pid=bystanders[0].pid, proc_start=None, state="started"
        )
        append_event(events, "process", pid=bystanders[1].pid, proc_start=None)
        store = Store(store_root, lease=0)
        jobs.kill(store, run.run_id, timeout=1)
        assert store.summary(run.run_id)["status"] == "killed"
        time.sleep(0.2)  # a signal, had one been sent, has landed by now
        assert [b.poll() for b in bystanders] == [None, None], "kill signalled a bystander"
    finally:
        for bystander in bystanders:
            bystander.kill()
            bystander.wait()


def _double_fork(marker: Path, command: str) -> str:
    """Source that starts ``command`` as a daemon (fork, setsid, fork, the middle process
    exits at once) and writes the daemon's pid to ``marker``."""
    return (
        "middle = os.fork()\n"
        "if middle == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(marker)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
        f"        os.rename({str(marker)!r} + '.tmp', {str(marker)!r})\n"
        f"        argv = shlex.split({command!r})\n"
        "        os.execvp(argv[0], argv)\n"
        "    os._exit(0)\n"
        "os.waitpid(middle, 0)\n"
    )


def test_kill_reaches_a_double_forked_daemon(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    # Two daemons leave the job at once, well inside one /proc sampling interval: one that
    # runs until killed, one that ends by itself (it must not stay a zombie meanwhile).
    daemon_pid, brief_pid = tmp_path / "daemon.pid", tmp_path / "brief.pid"
    source = (
        "import os, shlex, time\n"
        + _double_fork(daemon_pid, "sleep 1000")
        + _double_fork(brief_pid, "sleep 0.3")
        + "while True:\n    time.sleep(0.1)\n"
    )
    run = make_job(source)
    jobs.submit(run.root)
    store = Store(store_root, lease=0)
    wait_status(store, run.run_id, {"running"})
    daemon, brief = int(wait_for_file(daemon_pid)), int(wait_for_file(brief_pid))
    assert _alive(daemon)
    _wait_recorded(run.events_of("supervisor"), daemon)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{brief}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{brief}"), "an ended daemon of the job stayed a zombie"
    result = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "kill", run.run_id],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TRACKRUN_HOME": str(store_root)},
    )
    assert result.returncode == 0, result.stderr
    assert store.summary(run.run_id)["status"] == "killed"
    assert _wait_gone(daemon), "the double-forked daemon survived trackrun kill"


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
