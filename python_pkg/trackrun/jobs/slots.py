"""Who may drain a store's queue, and how many runs at once: the drainer lock, the store-wide
limit and the GPUs to hand out, per-sweep limits, and claims left behind by a drainer that died.

Exactly one drainer (the Jupyter server's, or an on-demand queue runner) serves a store at a
time: the one holding an exclusive ``flock`` on ``<store>/drainer.lock``. The kernel releases
the lock when the holder dies, however it dies, so a dead drainer never blocks the next.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from trackrun import liveness
from trackrun.config import ConfigError, load_config
from trackrun.layout import TERMINAL_STATUSES, RunPaths


def lock_path(store_root: Path) -> Path:
    """The lock file whose holder is the store's one drainer."""
    return store_root / "drainer.lock"


def try_lock(store_root: Path) -> int | None:
    """Take the store's drainer lock without waiting; the open descriptor, or None if held.

    The descriptor is not inherited by child processes; closing it (or exiting) releases
    the lock.
    """
    fd = os.open(lock_path(store_root), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: int) -> None:
    """Release a lock taken with :func:`try_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def lock_is_held(store_root: Path) -> bool:
    """True while some process (a server or a queue runner) drains the store."""
    fd = try_lock(store_root)
    if fd is None:
        return True
    release(fd)
    return False


def visible_gpus() -> list[str]:
    """GPU ids this machine's drainer may hand out: ``CUDA_VISIBLE_DEVICES`` if set, else
    those ``nvidia-smi -L`` lists (none without an NVIDIA driver)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def store_max_parallel(store_root: Path) -> int:
    """Local detached runs at once, for whichever drainer serves the store (a server
    without its own ``max_parallel`` setting, or a queue runner): ``$TRACKRUN_MAX_PARALLEL``,
    else the project config's ``max_parallel``, else the CPU cores this process may use.
    GPUs do not lower it: ``--gpu auto`` runs also wait for a free GPU, one run per GPU
    (``Drainer.tick``), so CPU runs are not capped at the GPU count. A project config that
    cannot be read is named in a warning (the drainer must still start: queued runs would
    strand) and the default applies."""
    value = os.environ.get("TRACKRUN_MAX_PARALLEL", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        configured = load_config(store_root).max_parallel
    except ConfigError as error:
        logging.getLogger("trackrun").warning(
            "trackrun: %s; using the default number of runs at once", error
        )
        configured = None
    if configured:
        return configured
    return cpu_cores()


def cpu_cores() -> int:
    """The CPU cores this process may run on: its affinity mask (a container, ``taskset``
    or a SLURM allocation can hold fewer than the machine has), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity mask on this platform (macOS)
        return max(1, os.cpu_count() or 1)


def slot_group(spec: dict[str, Any]) -> tuple[str | None, int | None]:
    """The group a job counts against and that group's limit: ``(sweep id, --parallel)``."""
    group = spec.get("sweep")
    limit = spec.get("parallel")
    return (
        str(group) if group else None,
        int(limit) if isinstance(limit, int) and limit > 0 else None,
    )


def orphaned_claim(run_dir: Path) -> bool:
    """True when the run was claimed by a process that died before starting it.

    A drainer killed between claiming a run and spawning its supervisor leaves a claim
    that would keep the run queued forever. Such a claim has no handle with a process, no
    supervisor record and no final status (a cancelled run has one), and the claiming
    process is gone (or its pid now belongs to a process started after the claim).
    """
    run = RunPaths(run_dir)
    claim = run.job / "claim"
    try:
        pid = int(claim.read_text().strip() or 0)
        claimed_at = claim.stat().st_mtime
    except (OSError, ValueError):
        return False
    if run.events_of("supervisor").exists():
        return False
    try:
        handle = json.loads((run.job / "handle.json").read_text())
        if (handle.get("ident") or {}).get("pid"):
            return False
    except (OSError, ValueError):
        pass
    if _ended(run):
        return False
    return not _alive_since(pid, claimed_at)


def reclaim(run_dir: Path) -> None:
    """Remove an orphaned claim so the run can be claimed again (see orphaned_claim)."""
    (run_dir / "job" / "claim").unlink(missing_ok=True)


def _ended(run: RunPaths) -> bool:
    for path in run.event_files():
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if '"status"' not in line:
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("type") == "status" and event.get("status") in TERMINAL_STATUSES:
                        return True
        except OSError:
            continue
    return False


def _alive_since(pid: int, since: float) -> bool:
    """True when ``pid`` is alive and started no later than ``since`` (not a reused pid)."""
    token = liveness.process_start_time(pid) if pid > 0 else None
    if token is None:
        return False
    try:
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        started = boot + int(token) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration):
        return True  # cannot tell: assume the claimer is alive (never start a run twice)
    return started <= since + 1.0
