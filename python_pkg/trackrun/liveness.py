"""Is a run's process still alive? pid plus process start time on this host, heartbeat age elsewhere."""

from __future__ import annotations

import os
import socket
import time
from functools import cache

#: A run on another host whose last event is older than this (seconds) is judged lost.
REMOTE_HEARTBEAT_TIMEOUT = 60.0


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
    """True when ``pid`` runs on this host and is the same process that recorded ``start_token``."""
    if not pid:
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    return start_token is None or current == start_token or current == "alive"


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
        return not is_alive(pid, start_token)
    if last_event_at is None:
        return False
    return (now or time.time()) - last_event_at > REMOTE_HEARTBEAT_TIMEOUT
