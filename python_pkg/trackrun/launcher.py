"""Starting and stopping supervisors: the one place that spawns and signals detached runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from trackrun import liveness
from trackrun.capture import scrub_environ_for_child
from trackrun.errors import RunStateError
from trackrun.layout import open_private

#: Seconds a job gets to exit after SIGTERM before it is SIGKILLed.
KILL_GRACE = float(os.environ.get("TRACKRUN_KILL_GRACE", "10"))


def launch_supervisor(run_dir: Path, python: str | None = None) -> int:
    """Start ``python -m trackrun.supervisor RUN_DIR`` in a new session; return its pid.

    The supervisor is a freshly spawned interpreter (never a fork of the caller: forking a
    kernel that touched CUDA or threads can hang), detached from the caller's process
    group and terminal, with stdin closed and secrets removed from its environment, so it
    outlives the kernel, the Jupyter server and the browser.
    """
    log = open_private(run_dir / "supervisor.log")
    try:
        process = subprocess.Popen(
            [python or sys.executable, "-m", "trackrun.supervisor", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=scrub_environ_for_child(os.environ),
            cwd=str(run_dir),
        )
    finally:
        log.close()
    return process.pid


def signal_supervisor(pid: int | None, proc_start: str | None, host: str | None) -> bool:
    """Ask the supervisor ``pid`` (checked against its start token) to cancel its run.

    Returns False when that process is not running on this host any more. Raises
    RunStateError for a run supervised on another host.
    """
    if host and host != liveness.hostname():
        raise RunStateError(
            f"this run is supervised on host {host}; run `trackrun kill` there to stop it"
        )
    if not pid or not liveness.is_alive(pid, proc_start):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def terminate_group(pgid: int, grace: float = KILL_GRACE) -> None:
    """SIGTERM the process group ``pgid``, then SIGKILL whatever is left after ``grace`` s."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
