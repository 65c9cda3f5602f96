"""What a run's writers last said about their own health: records they had to drop, a main
thread that stopped making progress, the exit code of the process.

Read from the tails of the run's event files (the last status and heartbeat events), so it
costs a few reads whatever the run's length; shared by ``trackrun show`` and the server's run
detail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trackrun.layout import RunPaths

#: Seconds without progress after which a running run is shown as stalled.
STALLED_AFTER = 60.0
#: Bytes read from the end of each event file.
TAIL_BYTES = 1 << 18


@dataclass(frozen=True)
class RunHealth:
    """``dropped_records``: records a writer could not store (its buffer was full);
    ``stalled_for``: seconds the main thread last made no progress (0 when it did);
    ``exit_code``: the writer process's exit code when it reported one."""

    dropped_records: int = 0
    stalled_for: float = 0.0
    exit_code: int | None = None

    def stalled(self, status: str) -> bool:
        """True when a ``running`` run's main thread has made no progress for a while."""
        return status == "running" and self.stalled_for >= STALLED_AFTER


def read_health(run: RunPaths) -> RunHealth:
    """The health the run's writers last reported (an unreadable file counts as silent)."""
    dropped, stalled, exit_code = 0, 0.0, None
    for path in run.event_files():
        for event in tail_events(run, path.name):
            if event.get("type") == "status":
                dropped = max(dropped, _int(event.get("dropped_records")))
                if isinstance(event.get("exit_code"), int):
                    exit_code = event["exit_code"]
            elif event.get("type") == "heartbeat":
                value = event.get("stalled_for")
                stalled = float(value) if isinstance(value, int | float) else 0.0
    return RunHealth(dropped, stalled, exit_code)


def tail_events(run: RunPaths, name: str, size: int = TAIL_BYTES) -> list[dict[str, Any]]:
    """The complete events in the last ``size`` bytes of the run's event file ``name``,
    oldest first; none when it is missing, unreadable or behind a symlink (never followed:
    the server shows health to others)."""
    try:
        with run.open_inside(name) as f:
            f.seek(0, 2)
            start = max(0, f.tell() - size)
            f.seek(start)
            lines = f.read().split(b"\n")[1 if start else 0 :]  # a cut first line is skipped
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
