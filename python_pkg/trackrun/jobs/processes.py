"""A job's process tree: finding its descendants in /proc and signalling them safely."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

from trackrun import liveness


@dataclass(frozen=True)
class Proc:
    """One process, named by pid and start token so a reused pid is never signalled."""

    pid: int
    start: str | None

    def alive(self) -> bool:
        """True while this very process (same start token) still runs."""
        return liveness.is_alive(self.pid, self.start)


def descendants(root: int) -> list[Proc]:
    """Every living descendant of ``root`` (children, grandchildren...), whatever its session.

    Read from ``/proc/*/stat`` parent pids, so a child that called ``setsid`` (and left the
    job's process group) is still found. Empty where /proc is missing.
    """
    parents: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[0] != b"Z":
            parents[int(name)] = int(fields[1])
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[Proc] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(Proc(pid, liveness.process_start_time(pid)))
        stack.extend(children.get(pid, []))
    return found


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

    A group whose leader exited is still signalled when the leader's start token is unknown
    only if the group exists; with a known token, a gone leader means the group is skipped
    (its pid may now lead an unrelated group).
    """
    if leader.start is not None and not leader.alive():
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
