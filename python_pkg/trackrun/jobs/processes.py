"""A job's process tree: finding its descendants in /proc and signalling them safely."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass

from trackrun import liveness

#: prctl(2) option that makes a process the reaper of its orphaned descendants (Linux).
PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class Proc:
    """One process, named by pid and start token so a reused pid is never signalled."""

    pid: int
    start: str | None

    def alive(self) -> bool:
        """True while this very process (same start token) still runs; False when the start
        token is unknown (None): such a process is never signalled."""
        return liveness.is_alive(self.pid, self.start)


def _process_table() -> dict[int, tuple[int, bool]]:
    """``{pid: (parent pid, is a zombie)}`` of every process in /proc (empty without /proc)."""
    table: dict[int, tuple[int, bool]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            table[int(name)] = (int(fields[1]), fields[0] == b"Z")
    return table


def descendants(root: int) -> list[Proc]:
    """Every living descendant of ``root`` (children, grandchildren...), whatever its session.

    Read from ``/proc/*/stat`` parent pids, so a child that called ``setsid`` (and left the
    job's process group) is still found. A process whose start time cannot be read (it is a
    zombie, or ended while the table was read) is left out: it could never be signalled
    safely. Empty where /proc is missing.
    """
    children: dict[int, list[int]] = {}
    for pid, (ppid, zombie) in _process_table().items():
        if not zombie:
            children.setdefault(ppid, []).append(pid)
    found: list[Proc] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        start = liveness.process_start_time(pid)
        if start is not None:
            found.append(Proc(pid, start))
        stack.extend(children.get(pid, []))
    return found


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux ``prctl``
    PR_SET_CHILD_SUBREAPER): a daemon that double-forks inside the job is reparented to us,
    not to init, so it stays in our tree. False where that is not available (other systems)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reap_adopted(keep: int) -> int:
    """Reap this process's ended children except ``keep`` (the one whose exit status we wait
    for): orphans a subreaper adopted leave a zombie each when they end. Returns how many."""
    me = os.getpid()
    reaped = 0
    for pid, (ppid, zombie) in _process_table().items():
        if ppid == me and zombie and pid != keep:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    reaped += 1
    return reaped


def signal_procs(procs: list[Proc], sig: int) -> int:
    """Send ``sig`` to each process of ``procs`` that is still the same process; return how many."""
    sent = 0
    for proc in procs:
        if not proc.alive():
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, sig)
            sent += 1
    return sent


def signal_group(leader: Proc, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``leader``, if the leader is still that process.

    A gone leader, or one whose start token is unknown, means the group is skipped: its pid
    may now lead an unrelated group. (A parent that has not yet reaped its own child can
    signal that child's group with os.killpg directly: the zombie keeps the pid taken.)
    """
    if not leader.alive():
        return False
    try:
        os.killpg(leader.pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def terminate(procs: list[Proc], grace: float) -> None:
    """SIGTERM ``procs``, then SIGKILL whichever of them still runs after ``grace`` seconds."""
    if not signal_procs(procs, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(p.alive() for p in procs):
            return
        time.sleep(0.05)
    signal_procs(procs, signal.SIGKILL)
