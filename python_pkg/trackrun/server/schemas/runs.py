"""The run list on the wire: a run's row, a window of the list (``GET runs``), and the
change feed that keeps a window current (``GET changes``)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, TypedDict

from trackrun.server.schemas.common import MetricValue, RunStatus


class _MetricSummary(TypedDict):
    last: MetricValue
    min: MetricValue
    max: MetricValue


class MetricSummary(_MetricSummary, total=False):
    """A metric's last, min and max; a run's detail adds the count and the last step."""

    count: int
    last_step: int | None


class RunFields(TypedDict):
    """The fields a run's row and its detail share (a base, never on the wire alone)."""

    run_id: str
    name: str
    status: RunStatus
    notebook: str | None
    note: str | None
    started_at: float | None
    ended_at: float | None
    duration: float | None
    detached: bool | None
    tags: list[str]
    params: dict[str, Any]
    metrics: dict[str, MetricSummary]


class RunRow(RunFields):
    """One row of the run list."""

    attempts: int | None


class RunsPage(TypedDict):
    """``GET runs``: one window of the run list, sorted and filtered on the server.

    With ``group_sweeps``, the list is made of lines: each sweep's runs are ONE line, at the
    place of its first run in this order (that run's row stands for the sweep), followed by
    its runs when the sweep is in ``expand``. ``sweep_lines`` are the indexes in ``runs`` of
    the lines that stand for a sweep (always empty without ``group_sweeps``), and ``total``
    counts lines."""

    runs: list[RunRow]
    sweep_lines: list[int]
    total: int
    offset: int
    limit: int
    change_token: str


class RunsQuery(TypedDict, total=False):
    filter: str
    order_by: str
    limit: int
    offset: int
    group_sweeps: bool
    expand: list[str]


class Changes(TypedDict):
    """``GET changes``: once the store's token differs from ``since`` (or at the timeout), the
    rows that changed or appeared since then, the ids deleted, and the new token. ``reset``:
    the server cannot tell (``since`` unknown or too old, or too many changes), so refetch
    the list window; ``runs``, ``deleted`` and ``unmatched`` are then empty. With a
    ``filter``, ``runs`` holds only the changed rows that match it, and ``unmatched`` the ids
    of changed runs that do not (any more): the panel drops those from its list."""

    change_token: str
    reset: bool
    runs: list[RunRow]
    deleted: list[str]
    unmatched: list[str]


class ChangesQuery(TypedDict, total=False):
    since: str
    timeout: int
    filter: str
