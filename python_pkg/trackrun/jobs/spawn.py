"""Starting a supervisor process: the one place that spawns a detached run's supervisor."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from trackrun.jobs.environment import without_jupyter_credentials
from trackrun.layout import open_private

#: The module every backend runs, locally or on a compute node.
SUPERVISOR_MODULE = "trackrun.jobs.supervisor"
#: Detached processes this process started and has not seen end: held so that they are
#: reaped (no zombies) and never garbage-collected while running (a ResourceWarning).
_started: list[subprocess.Popen[bytes]] = []


def keep(process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """Hold on to a detached child until it ends (reaping the ones that ended); return it."""
    _started[:] = [p for p in _started if p.poll() is None]
    _started.append(process)
    return process


def spawn_supervisor(
    run_dir: Path, python: str | None = None, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m trackrun.jobs.supervisor RUN_DIR`` in a new session; return it.

    The supervisor is a freshly spawned interpreter (never a fork of the caller: forking a
    kernel that touched CUDA or threads can hang), detached from the caller's process group
    and terminal, with stdin closed and Jupyter's own credentials removed from its
    environment (the other secrets stay: the job gets them from here, never from a file;
    see ``jobs/environment.py``), so it outlives the kernel, the Jupyter server and the
    browser. Its own output (not the job's) goes to ``RUN_DIR/supervisor.log``. ``extra_env`` adds variables
    (e.g. the GPUs a queue drainer assigned).
    """
    env = without_jupyter_credentials(os.environ)
    env.update(extra_env or {})
    with open_private(run_dir / "supervisor.log") as log:
        process = subprocess.Popen(
            [python or sys.executable, "-m", SUPERVISOR_MODULE, str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
            cwd=str(run_dir),
        )
    return keep(process)
