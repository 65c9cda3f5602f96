"""Killing a run: through its jobs backend for detached runs, by SIGINT for inline ones."""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING

from trackrun import liveness
from trackrun.errors import RunStateError
from trackrun.events import append_event
from trackrun.jobs.backends import Handle, backend_of
from trackrun.jobs.backends.local import KILL_GRACE
from trackrun.layout import ACTIVE_STATUSES

if TYPE_CHECKING:
    from trackrun.store import Store


def kill(store: Store, run: str, timeout: float | None = None) -> str:
    """Stop a queued or running run and wait until it is recorded as killed; returns its id.

    A detached run is cancelled through the backend that owns it: locally its supervisor
    stops the job's whole process tree (SIGTERM, then SIGKILL after a grace period) and
    records ``killed`` without retrying. An inline run is interrupted like Ctrl-C. When no
    process answers within ``timeout`` seconds (default: the kill grace plus 10 s), the run
    is recorded ``killed`` here. Raises RunStateError when the run has already ended or
    runs on another host.
    """
    info = store.summary(run)
    run_id, status = str(info["run_id"]), info["status"]
    if status not in ACTIVE_STATUSES:
        raise RunStateError(f"run {run_id} is already {status}; nothing to kill")
    paths = store.paths.run(run_id)
    if info["detached"]:
        handle = Handle.load(paths) or Handle("local", run_id)
        signalled = backend_of(paths, store.paths).cancel(handle)
    else:
        signalled = _interrupt_inline(run_id, info)
    deadline = time.monotonic() + (KILL_GRACE + 10 if timeout is None else timeout)
    while signalled and time.monotonic() < deadline:
        if store.summary(run_id)["status"] not in ACTIVE_STATUSES:
            return run_id
        time.sleep(0.1)
    # Nobody recorded the end (a queued run, or a job whose supervisor is gone): record it.
    # The store's lock orders this append with every other writer of the observer file.
    with store.connection(refresh=False):
        append_event(
            paths.events_of("observer"), "status", status="killed", error="killed by the user"
        )
    store.ingest([run_id])
    return run_id


def _interrupt_inline(run_id: str, info: dict[str, object]) -> bool:
    pid, start, host = info.get("pid"), info.get("proc_start"), info.get("host")
    if host and host != liveness.hostname():
        raise RunStateError(f"run {run_id} runs on host {host}; stop it there")
    if not isinstance(pid, int) or not liveness.is_alive(
        pid, start if isinstance(start, str) else None
    ):
        return False
    os.kill(pid, signal.SIGINT)
    return True
