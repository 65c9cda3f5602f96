"""What the ``trackrun`` command groups share: opening the store, durations and times as text."""

from __future__ import annotations

import argparse
import math
import re
import time
from typing import Any

from trackrun.errors import TrackrunError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def open_store(args: argparse.Namespace) -> Any:
    """The Store named by ``--store`` (default store when absent), without a lease: a
    command lets go of the index as soon as it is done with it."""
    from trackrun.store import Store

    return Store(args.store, lease=0)


def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``90``, ``30s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    match = _DURATION.match(text)
    if not match:
        raise TrackrunError(f"cannot read the duration {text!r}; write e.g. 30m, 12h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def when(epoch: float | None) -> str:
    """A local date and time to the minute, or ``-`` for none."""
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def duration(seconds: float | None) -> str:
    """A duration as people write it (``45s``, ``12m``, ``3h05m``), or ``-`` for none."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
