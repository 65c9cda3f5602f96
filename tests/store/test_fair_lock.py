"""Processes polling the store many times a second never keep another process out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackrun

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

WRITER = """
import os, sys, time, trackrun
with trackrun.start_run(name="live") as run:
    print("ready", flush=True)
    i = 0
    while not os.path.exists(sys.argv[1]):
        trackrun.log(x=i, step=i)
        i += 1
        time.sleep(0.01)
"""

POLLER = """
import os, sys, time, trackrun
trackrun.runs()
print("ready", flush=True)
polls = 0
while not os.path.exists(sys.argv[1]):
    trackrun.runs()
    polls += 1
    time.sleep(0.1)
print(polls)
"""

#: Generous: `trackrun ls` takes about a second on a loaded machine; before the lock was
#: fair it waited for 120 s and failed.
BOUND = 10.0


def test_ls_gets_its_turn_while_pollers_poll_at_10_hz(isolated_store: Path) -> None:
    for i in range(10):
        with trackrun.start_run(params={"i": i}):
            trackrun.log(x=1.0, step=0)
    stop = isolated_store.parent / "stop"
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store), "TRACKRUN_FLUSH_INTERVAL": "0.2"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(stop)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in (WRITER, POLLER, POLLER, POLLER)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for _ in range(3):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "trackrun.cli", "ls"],
                env=env,
                capture_output=True,
                text=True,
                timeout=150,
            )
            waited = time.monotonic() - started
            assert done.returncode == 0, done.stderr
            assert "live" in done.stdout
            assert waited < BOUND, f"`trackrun ls` took {waited:.1f}s behind the pollers"
    finally:
        stop.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert all(int(out.split()[-1]) > 0 for out, _ in outputs[1:]), "the pollers polled"
