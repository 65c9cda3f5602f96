"""Is a run's process still alive? pid plus process start time on this host, heartbeat age elsewhere."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from functools import cache

#: A run on another host whose last event is older than this (seconds) is judged lost.
REMOTE_HEARTBEAT_TIMEOUT = 60.0
#: A main thread without progress for this long (seconds) is reported stalled.
STALL_AFTER = float(os.environ.get("TRACKRUN_STALL_AFTER", "300"))
#: CPU seconds a thread must use between two samples to count as moving.
_CPU_PROGRESS_S = 0.01
#: When this process last wrote a line of output (see note_output).
_last_output = 0.0


@cache
def hostname() -> str:
    """This machine's host name (cached)."""
    return socket.gethostname()


def process_start_time(pid: int) -> str | None:
    """Return an opaque token of when process ``pid`` started, or None if there is none.

    On Linux this is the start time in clock ticks since boot (``/proc/PID/stat`` field 22),
    which tells a live process from a later one that reused its pid. Elsewhere it is
    ``"alive"`` for any existing pid (weaker: pid reuse goes unnoticed).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return _exists_token(pid)
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    if len(fields) > 19 and fields[0] != b"Z":
        return fields[19].decode()
    return None


def _exists_token(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return "alive"
    return "alive"


def is_alive(pid: int | None, start_token: str | None) -> bool:
    """True when ``pid`` runs on this host and is the same process that recorded ``start_token``.

    Without a recorded token (None) the answer is False: nothing tells that process from a
    later one that took its pid, so it is never taken for alive (and never signalled).
    """
    if not pid or start_token is None:
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    return current == start_token or current == "alive"


def is_lost(
    host: str | None,
    pid: int | None,
    start_token: str | None,
    last_event_at: float | None,
    now: float | None = None,
) -> bool:
    """Judge a run that claims to be running: True when its process is certainly gone.

    On this host the pid and its start time decide; for another host (shared filesystem)
    only the heartbeat age can, with ``REMOTE_HEARTBEAT_TIMEOUT``.
    """
    if host == hostname():
        if start_token is None:  # no token to check: only a pid that is gone is certain
            return not pid or process_start_time(pid) is None
        return not is_alive(pid, start_token)
    if last_event_at is None:
        return False
    return (now or time.time()) - last_event_at > REMOTE_HEARTBEAT_TIMEOUT


def note_output() -> None:
    """Record that this process wrote output now (the streams that copy a run's output into
    output.log call it): an output line is activity, like a log call, for the stall flag."""
    global _last_output
    _last_output = time.time()


def last_output_time() -> float:
    """When this process last wrote output through a run's streams (0.0: never)."""
    return _last_output


class ProgressMonitor:
    """Tells whether a thread (the main one) still makes progress, without slowing it down.

    Each ``stalled_for`` call samples where the thread is (its innermost frames and their
    instruction offsets, via ``sys._current_frames``) and how much CPU time it has used. A
    thread blocked in one call that never returns (a deadlock, a hung collective, a blocking
    read) stays at one place and uses no CPU, sample after sample. Position alone cannot
    tell: a busy Python loop is always sampled at the same GIL switch point, so CPU time
    that grows counts as progress too. No profile or trace hook is set.
    """

    def __init__(self, thread: threading.Thread, stall_after: float | None = None) -> None:
        self._ident = thread.ident
        self._stall_after = STALL_AFTER if stall_after is None else stall_after
        self._place: tuple[tuple[int, int], ...] | None = None
        self._cpu = self._cpu_time()
        self._since = time.time()

    def _where(self) -> tuple[tuple[int, int], ...] | None:
        frame = sys._current_frames().get(self._ident) if self._ident is not None else None
        place: list[tuple[int, int]] = []
        while frame is not None and len(place) < 8:
            place.append((id(frame.f_code), frame.f_lasti))
            frame = frame.f_back
        return tuple(place) if place else None

    def _cpu_time(self) -> float | None:
        try:
            clock = time.pthread_getcpuclockid(self._ident)  # type: ignore[arg-type]
            return time.clock_gettime(clock)
        except (AttributeError, OSError, TypeError, OverflowError):
            return None

    def stalled_for(self, last_activity: float | None = None, now: float | None = None) -> float:
        """Seconds the thread has stayed at one place, using no CPU, with no activity reported
        since (a log call at ``last_activity``); 0.0 while below the stall threshold or moving."""
        now = time.time() if now is None else now
        place = self._where()
        cpu = self._cpu_time()
        busy = cpu is not None and self._cpu is not None and cpu - self._cpu > _CPU_PROGRESS_S
        if place is None or place != self._place or busy:
            self._place = place
            self._cpu = cpu
            self._since = now
        if place is None:
            return 0.0
        quiet = now - max(self._since, last_activity or 0.0)
        return round(quiet, 1) if quiet >= self._stall_after else 0.0
