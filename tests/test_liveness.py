"""Process liveness (trackrun.liveness): pid plus start time, heartbeat age, stall sampling."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from trackrun import liveness


def test_this_process_is_alive_and_a_reused_pid_is_not() -> None:
    token = liveness.process_start_time(os.getpid())
    assert token is not None
    assert liveness.is_alive(os.getpid(), token)
    assert not liveness.is_alive(os.getpid(), "12345-not-this-process")
    assert not liveness.is_alive(None, token)


def test_a_process_without_a_recorded_start_time_is_never_taken_for_alive() -> None:
    # Its pid may belong to another process by now: it must not be signalled...
    assert not liveness.is_alive(os.getpid(), None)
    # ...but a run is judged lost only when the pid is certainly gone.
    assert not liveness.is_lost(liveness.hostname(), os.getpid(), None, time.time())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert liveness.is_lost(liveness.hostname(), proc.pid, None, time.time())


def test_an_ended_process_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    token = liveness.process_start_time(proc.pid)
    proc.wait()
    assert not liveness.is_alive(proc.pid, token)
    assert liveness.is_lost(liveness.hostname(), proc.pid, token, time.time())


def test_other_hosts_are_judged_by_heartbeat_age() -> None:
    now = 1_000_000.0
    timeout = liveness.REMOTE_HEARTBEAT_TIMEOUT
    assert not liveness.is_lost("elsewhere", 1, None, now - timeout + 1, now=now)
    assert liveness.is_lost("elsewhere", 1, None, now - timeout - 1, now=now)
    assert not liveness.is_lost("elsewhere", 1, None, None, now=now)


def test_a_blocked_thread_is_stalled_a_busy_one_is_not() -> None:
    release = threading.Event()
    blocked = threading.Thread(target=release.wait, daemon=True)
    blocked.start()
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(i * i for i in range(200))

    busy = threading.Thread(target=spin, daemon=True)
    busy.start()
    try:
        watch_blocked = liveness.ProgressMonitor(blocked, stall_after=1.0)
        watch_busy = liveness.ProgressMonitor(busy, stall_after=1.0)
        start = time.time()
        stalled, moving = 0.0, []
        while time.time() - start < 30 and stalled == 0.0:
            time.sleep(0.1)
            stalled = watch_blocked.stalled_for()
            moving.append(watch_busy.stalled_for())
        assert stalled >= 1.0
        assert set(moving) == {0.0}
        # A log call is activity: it resets the clock even while blocked.
        assert watch_blocked.stalled_for(last_activity=time.time()) == 0.0
    finally:
        release.set()
        stop.set()
