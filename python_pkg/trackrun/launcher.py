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


# -- handing runs over to a launcher (the trackrun server extension) ---------------------------
#: Seconds after which a launcher that stopped writing its heartbeat counts as gone.
LAUNCHER_STALE_AFTER = 10.0
#: Seconds the magic waits for a live launcher to take a queued run before starting it itself.
HANDOVER_WAIT = 3.0


def launcher_file(store_root: Path) -> Path:
    """Where a launcher (the server extension) registers itself in a store."""
    return store_root / "launcher.json"


def queue_dir(store_root: Path) -> Path:
    """Folder of queued run ids waiting for a launcher (one empty file each)."""
    return store_root / "queue"


def live_launcher(store_root: Path) -> dict[str, object] | None:
    """The registration of a live launcher for this store, or None.

    Alive means: the registered process runs on this host with the same start token and
    its heartbeat is fresh.
    """
    import json

    try:
        info = json.loads(launcher_file(store_root).read_text())
    except (OSError, ValueError):
        return None
    if info.get("host") != liveness.hostname():
        return None
    if time.time() - float(info.get("heartbeat_at") or 0) > LAUNCHER_STALE_AFTER:
        return None
    if not liveness.is_alive(int(info.get("pid") or 0), info.get("proc_start")):
        return None
    return dict(info)


def claim(run_dir: Path) -> bool:
    """Atomically claim the right to launch a queued run; False if someone else has it."""
    try:
        fd = os.open(run_dir / "job" / "claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def start_queued_run(store_root: Path, run_dir: Path) -> str:
    """Start a freshly queued run: hand it to a live launcher, or launch it here.

    Returns "launcher" when the store's launcher accepted it (it may wait in the
    launcher's queue for a free slot), "here" when this process started its supervisor.
    The launcher accepts an entry by renaming ``queue/<id>`` to ``queue/<id>.accepted``;
    withdrawing is unlinking ``queue/<id>``: exactly one of the two can succeed.
    """
    if live_launcher(store_root) is not None:
        folder = queue_dir(store_root)
        folder.mkdir(exist_ok=True, mode=0o700)
        entry = folder / run_dir.name
        entry.touch()
        deadline = time.monotonic() + HANDOVER_WAIT
        while time.monotonic() < deadline and entry.exists():
            time.sleep(0.02)
        try:
            entry.unlink()
        except FileNotFoundError:
            return "launcher"
        # The launcher did not answer in time (busy or dying): launch it here instead.
    if claim(run_dir):
        launch_supervisor(run_dir)
        return "here"
    return "launcher"
