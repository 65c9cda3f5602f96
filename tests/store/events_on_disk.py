"""Helpers of the ingest tests: event lines appended to a run's file as a writer would."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from trackrun.store import Store

KEYS = ("loss", "acc", "lr", "grad")


def append_events(events: Path, records: list[dict[str, Any]]) -> None:
    """Append ``records`` to ``events``, continuing its sequence numbers."""
    seq = len(events.read_text().splitlines())
    with open(events, "a") as f:
        for record in records:
            seq += 1
            f.write(json.dumps({"seq": seq, "time": time.time(), **record}) + "\n")


def lines_of(records: list[dict[str, Any]]) -> bytes:
    """``records`` as the bytes of JSON lines (a chunk of an event file)."""
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def metric_events(steps: range, scale: float = 1.0) -> list[dict[str, Any]]:
    """One metrics event per step, with a value per key of ``KEYS``."""
    return [
        {"type": "metrics", "step": s, "values": {k: scale * (s + i) for i, k in enumerate(KEYS)}}
        for s in steps
    ]


def points_of(store: Store, run_id: str, key: str) -> list[tuple[int, float]]:
    """``(step, value)`` of ``key`` as the store answers it."""
    table = store.metrics(run_id, [key])
    return list(zip(table["step"], table["value"], strict=True))
