"""Processes polling the store many times a second never keep another one waiting more than
about 2 s for the index (issue 15, case 6): measured as the lock wait itself, and as what
pollers add to `trackrun ls`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trackrun
from trackrun.layout import StorePaths
from trackrun.store.lock import FairLock

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

#: The guarantee: no caller waits more than about this long behind pollers.
MAX_WAIT = 2.0

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

LS = [sys.executable, "-m", "trackrun.cli", "ls"]


def _env(store: Path) -> dict[str, str]:
    return {**os.environ, "TRACKRUN_HOME": str(store), "TRACKRUN_FLUSH_INTERVAL": "0.2"}


def _fill(store: Path) -> None:
    for i in range(10):
        with trackrun.start_run(store=store, params={"i": i}):
            trackrun.log(x=1.0, step=0)


def _ls_seconds(env: dict[str, str]) -> float:
    """Wall seconds of one `trackrun ls` (interpreter start included); fails if it fails."""
    started = time.monotonic()
    done = subprocess.run(LS, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


@contextlib.contextmanager
def _pollers(store: Path, count: int = 3) -> Iterator[None]:
    """One process logging into a live run and ``count`` calling trackrun.runs() at 10 Hz,
    all ready; stopped (and checked to have polled) at the end."""
    stop = store.parent / "stop"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(stop)],
            env=_env(store),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in (WRITER, *[POLLER] * count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        stop.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert all(int(out.split()[-1]) > 0 for out, _ in outputs[1:]), "the pollers polled"


@pytest.fixture
def jp_server_config(isolated_store: Path) -> dict[str, Any]:
    """A real in-process Jupyter server with trackrun's extension on the test's store."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"trackrun": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "TrackrunServer": {"store": str(isolated_store)},
    }


def test_the_lock_wait_behind_pollers_stays_under_2s(isolated_store: Path) -> None:
    _fill(isolated_store)
    lock = FairLock(StorePaths(isolated_store).lock)
    waits = []
    with _pollers(isolated_store):
        try:
            for _ in range(20):
                started = time.monotonic()
                lock.acquire(timeout=120)
                waits.append(time.monotonic() - started)
                time.sleep(0.02)  # a short query's worth
                lock.release()
                time.sleep(0.1)
        finally:
            lock.close()
    assert max(waits) < MAX_WAIT, f"waited up to {max(waits):.2f}s for the lock: {waits}"


def test_ls_takes_at_most_2s_longer_with_pollers_than_alone(isolated_store: Path) -> None:
    _fill(isolated_store)
    env = _env(isolated_store)
    alone = min(_ls_seconds(env) for _ in range(2))
    with _pollers(isolated_store):
        with_pollers = [_ls_seconds(env) for _ in range(3)]
    extra = max(with_pollers) - alone
    assert extra < MAX_WAIT, f"ls alone {alone:.2f}s, with pollers {with_pollers}"


async def test_ls_takes_at_most_2s_longer_while_the_rest_api_is_polled_at_10_hz(
    jp_fetch: Any, isolated_store: Path
) -> None:
    _fill(isolated_store)
    env = _env(isolated_store)

    async def ls_seconds() -> float:
        # A subprocess the event loop waits for: the server goes on answering meanwhile.
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *LS, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, err = await asyncio.wait_for(proc.communicate(), 150)
        assert proc.returncode == 0, err.decode()
        return time.monotonic() - started

    alone = min([await ls_seconds() for _ in range(2)])
    codes: list[int] = []
    stop = asyncio.Event()

    async def poll() -> None:  # what the panel does, ten times a second
        while not stop.is_set():
            response = await jp_fetch("trackrun", "api", "runs", raise_error=False)
            codes.append(response.code)
            await asyncio.sleep(0.1)

    with _pollers(isolated_store, count=0):  # the writer alone: the store keeps changing
        task = asyncio.create_task(poll())
        try:
            await asyncio.sleep(0.5)
            while_polled = [await ls_seconds() for _ in range(3)]
        finally:
            stop.set()
            await task
    assert len(codes) > 10 and set(codes) == {200}, codes
    extra = max(while_polled) - alone
    assert extra < MAX_WAIT, f"ls alone {alone:.2f}s, while polled {while_polled}"
