"""What one ingestion pass will write: run rows, params, tags, metric points, quarantined lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackrun.store.reader import BadLine


@dataclass
class Metrics:
    """Metric points of one pass: Python columns (steps and times once per event, expanded
    later), and the chunks whose points stay in the raw table the native reader filled."""

    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    #: Per event: its step, its time, how many points it holds and its order in the pass.
    event_steps: list[int] = field(default_factory=list)
    event_times: list[float | None] = field(default_factory=list)
    event_sizes: list[int] = field(default_factory=list)
    event_ords: list[int] = field(default_factory=list)
    #: Per run, in order: (run_id, number of points).
    runs: list[tuple[str, int]] = field(default_factory=list)
    #: Per chunk read natively: (its file in the raw table, run_id, ord of seq 0, points).
    native: list[tuple[str, str, int, int]] = field(default_factory=list)
    #: Per run, the summary rows of its points read natively (SummaryRow of fastread).
    native_summary: dict[str, list[tuple[str, float, float | None, float | None, int, int]]] = (
        field(default_factory=dict)
    )
    #: The next ``ord``: points of a later event (or a later chunk's seq) are newer.
    next_ord: int = 0

    def __len__(self) -> int:
        return len(self.keys) + sum(n for *_, n in self.native)

    def run_ids(self) -> list[str]:
        """The runs that have points in this pass."""
        return list(dict.fromkeys([r for r, _ in self.runs] + [r for _, r, _, _ in self.native]))


@dataclass
class Batch:
    """Everything one ingestion pass will write, gathered before one transaction."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per run, tag operations in file order: ("add" | "remove", tags); new runs start empty.
    tag_ops: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    new_runs: set[str] = field(default_factory=set)
    metrics: Metrics = field(default_factory=Metrics)
    artifacts: list[tuple[str, str, int, str, Any]] = field(default_factory=list)
    #: Per media event: (run_id, key, step, path, width, height), in file order.
    media: list[tuple[str, str, int, str, int, int]] = field(default_factory=list)
    offsets: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    overlapping: set[str] = field(default_factory=set)
    #: Per run: (event file name, the line) for each line that could not be applied.
    quarantine: list[tuple[str, str, BadLine]] = field(default_factory=list)
