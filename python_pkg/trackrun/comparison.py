"""Comparing runs: the runs a list or filter names, their differing params, final metrics and
groups, and how a comparison displays (tables, curves, parallel coordinates).

The statistics over the groups (mean ± sd, Welch's t-test) are ``comparison_stats``'s.
"""

from __future__ import annotations

import html
import importlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from trackrun.comparison_stats import group_table, group_tests
from trackrun.errors import FilterError, RunNotFoundError, TrackrunError
from trackrun.table import Table

if TYPE_CHECKING:
    import altair as alt

    from trackrun.jobs import SweepRecord
    from trackrun.store import Store

_IDENTITY = ("run_id", "name", "status")


class Comparison:
    """Several runs side by side; build it with ``compare()``.

    ``runs``: the runs (one row each, as ``Store.runs``); ``params_all`` / ``params_diff``:
    their params, all or only those whose values differ; ``summary``: final metric values;
    ``chart``: metric curves; ``groups`` and ``test``: with ``group_by``, per-group statistics
    and Welch's t-test per metric: the two groups when there are exactly two, else the best
    group (by mean, toward ``goal``) against the runner-up. ``parallel_chart``: params against
    a metric, one line per run. ``sweep``: the sweep's record when the runs are exactly one
    sweep; its groups and test then count finished runs only (``unfinished``: how many were
    left out), as the panel's sweep view does. Displays as the curves, then (grouped or a
    sweep) the parallel coordinates, then the tables.
    """

    def __init__(
        self,
        store: Store,
        runs: Table,
        metrics: Sequence[str] | None = None,
        group_by: Sequence[str] | None = None,
        goal: str = "max",
        sweep: SweepRecord | None = None,
    ) -> None:
        if goal not in ("max", "min"):
            raise TrackrunError(f"goal must be 'max' or 'min', not {goal!r}")
        self.goal = goal
        self.sweep = sweep
        self.store = store
        self.runs = runs
        self.metrics = _metric_keys(runs, metrics)
        self.group_by = list(group_by or [])
        self.params_all = _params_table(runs, only_differing=False)
        self.params_diff = _params_table(runs, only_differing=True)
        self.summary = _with_metrics(_identity(runs, _IDENTITY), runs, self.metrics)
        self._groups = _assign_groups(runs, self.group_by) if self.group_by else None
        #: Runs of a sweep left out of its statistics: not finished, so their last value is
        #: no final one (the panel's sweep view counts the same way).
        self.unfinished = 0
        if sweep is not None and self._groups is not None:
            self._groups, self.unfinished = _finished_only(runs, self._groups)
        self.groups = (
            group_table(runs, self._groups, self.metrics) if self._groups is not None else None
        )
        self.test = (
            group_tests(runs, self._groups, self.metrics, goal)
            if self._groups is not None and len(self._groups) >= 2
            else None
        )

    @cached_property
    def chart(self) -> alt.Chart | alt.FacetChart:
        """Metric curves of the runs, one panel per metric, ≤ ~2,000 points per line."""
        from trackrun.charts import MAX_POINTS, metric_curves

        ids = list(self.runs["run_id"])
        history = self.store.metrics(ids, self.metrics or None, max_points=MAX_POINTS)
        names = dict(zip(ids, self.runs["name"], strict=True))
        return metric_curves(history, names, self.metrics or None)

    @cached_property
    def parallel_chart(self) -> alt.Chart:
        """Parallel coordinates: each run a line through its params and the first metric."""
        from trackrun.charts import parallel_coordinates

        params = [c for c in self.params_diff.column_names if c not in ("run_id", "name")]
        metric = self.metrics[0] if self.metrics else None
        return parallel_coordinates(self.params_diff, params, self.runs, metric)

    # -- display --------------------------------------------------------------------------
    def _sections(self) -> list[tuple[str, Table | list[str]]]:
        same = ["every run has the same params"]
        out: list[tuple[str, Table | list[str]]] = [
            (f"{len(self.runs)} runs", _identity(self.runs, _IDENTITY)),
            (
                "params that differ",
                self.params_diff if self.params_diff.columns.keys() - {"run_id", "name"} else same,
            ),
            ("final metric values", self.summary),
        ]
        if self.groups is not None and self._groups is not None:
            title = f"groups by {', '.join(self.group_by)}"
            if self.unfinished:
                title += f" (finished runs only; {self.unfinished} not finished left out)"
            out.append((title, self.groups))
            tests = [t.message for t in self.test or []] or [
                f"the t-test needs two groups; there is {len(self._groups)}"
            ]
            how = (
                "first group minus second"
                if len(self._groups) == 2
                else "best group minus runner-up"
            )
            out.append((f"Welch's t-test ({how})", tests))
        return out

    def to_text(self) -> str:
        """Plain-text rendering for terminals: runs, differing params, final metrics, groups."""
        parts = []
        for title, body in self._sections():
            text = body.format(max_rows=200) if isinstance(body, Table) else "\n".join(body)
            parts.append(f"{title}:\n{text}")
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        parts = []
        for title, body in self._sections():
            parts.append(f"<h4>{html.escape(title)}</h4>")
            if isinstance(body, Table):
                parts.append(body._repr_html_())
            else:
                parts += [f"<p>{html.escape(line)}</p>" for line in body]
        return '<div class="trackrun-compare">' + "".join(parts) + "</div>"

    def _ipython_display_(self) -> None:
        # A mimebundle is one output of one type, so a chart and HTML tables need two
        # displays. Only IPython calls this hook; importing it by name keeps IPython out of
        # this module's imports (it belongs to the magic) and needs no untyped stubs.
        display: Callable[..., None] = importlib.import_module("IPython.display").display
        display(self.chart)
        if self._shows_parallel_chart():
            display(self.parallel_chart)
        display({"text/html": self._repr_html_(), "text/plain": self.to_text()}, raw=True)

    def _shows_parallel_chart(self) -> bool:
        """Grouped runs and sweeps are settings against a metric: worth the chart when some
        param differs."""
        differing = self.params_diff.columns.keys() - {"run_id", "name"}
        return bool(differing) and (bool(self.group_by) or self.sweep is not None)

    def __repr__(self) -> str:
        return f"<trackrun.Comparison of {len(self.runs)} runs>\n{self.to_text()}"


def compare(
    runs_or_filter: str | Sequence[str],
    metrics: Sequence[str] | None = None,
    group_by: Sequence[str] | None = None,
    store: str | os.PathLike[str] | Store | None = None,
    goal: str | None = None,
) -> Comparison:
    """Compare runs given as a list of ids/prefixes/names, one run, or a filter string.

    A list is taken as runs (kept in the given order). A string is a run when it resolves
    as a run id, unique prefix or unique name, else a filter such as
    ``"tag:lr-sweep and status = finished"``. ``metrics`` limits the metric keys (default:
    all); ``group_by`` names params (``lr`` or ``params.lr``; a param wins over a run column
    of the same name) or run columns (``status``) whose values split the runs into groups;
    with more than two groups, each metric's best group (highest mean, or lowest with
    ``goal="min"``; default ``"max"``) is tested against the runner-up.

    A sweep is ``"sweep:NAME"`` (or ``"sweep = ID"``). When the filter is exactly one sweep,
    its own ``--sweep-metric`` and ``--sweep-goal`` (``<store>/sweeps/<id>.json``) stand for
    ``metrics`` and ``goal`` not given: a loss sweep ranks its groups lowest first. Raises
    RunNotFoundError / AmbiguousRunIdError for a run that does not resolve or a filter that
    matches nothing, FilterError for a malformed filter, TrackrunError for an unknown
    metric or group_by key or a goal other than max or min.
    """
    st = open_store(store)
    runs = _select_runs(st, runs_or_filter)
    record = _one_sweep(st, runs_or_filter)
    if record is not None:
        goal = goal or record.goal
        if metrics is None and record.metric in _metric_keys(runs, None):
            metrics = [record.metric]
    return Comparison(st, runs, metrics, group_by, goal or "max", sweep=record)


# -- selecting and tabulating runs ----------------------------------------------------------
def open_store(store: str | os.PathLike[str] | Store | None) -> Store:
    from trackrun.store.registry import get_store

    return get_store(store)


def _select_runs(store: Store, runs_or_filter: str | Sequence[str]) -> Table:
    if isinstance(runs_or_filter, str):
        text = runs_or_filter.strip()
        try:
            ids = [store.resolve(text)]
        except RunNotFoundError as not_found:
            try:
                table = store.runs(text)
            except FilterError as error:
                if any(c.isspace() or c in "=<>~:(" for c in text):
                    raise
                raise RunNotFoundError(f"{not_found}; nor is it a filter: {error.reason}") from None
            if not len(table):
                raise RunNotFoundError(f"no runs match the filter {text!r}") from None
            return table
    else:
        ids = list(dict.fromkeys(store.resolve(r) for r in runs_or_filter))
        if not ids:
            raise RunNotFoundError("compare: no runs given")
    # Resolved ids match the run-id pattern, so quoting them into a filter is safe.
    table = store.runs(f"id in ({', '.join(json.dumps(i) for i in ids)})")
    position = {run_id: i for i, run_id in enumerate(table["run_id"])}
    order = [position[run_id] for run_id in ids]
    return Table({c: [values[i] for i in order] for c, values in table.columns.items()})


#: A filter that is exactly one sweep: ``sweep:NAME``, ``sweep:ID`` or ``sweep = ID``.
_ONE_SWEEP = re.compile(r"""\s*sweep\s*(?::|=)\s*(["']?)([\w.\-]+)\1\s*""", re.IGNORECASE)


def _one_sweep(store: Store, runs_or_filter: str | Sequence[str]) -> SweepRecord | None:
    """The record of the sweep that the filter ``runs_or_filter`` is exactly, else None."""
    if not isinstance(runs_or_filter, str):
        return None
    match = _ONE_SWEEP.fullmatch(runs_or_filter)
    if match is None:
        return None
    from trackrun.jobs import find_sweep

    try:
        return find_sweep(store.paths, match.group(2))
    except (OSError, ValueError, TypeError):  # an unreadable record: the defaults apply
        return None


def _metric_keys(runs: Table, wanted: Sequence[str] | None) -> list[str]:
    names = set(runs.column_names)
    logged = [
        c[len("metrics.") :]
        for c in runs.column_names
        if c.startswith("metrics.") and not (c.endswith((".min", ".max")) and c[:-4] in names)
    ]
    if wanted is None:
        return logged
    unknown = [m for m in wanted if m not in logged]
    if unknown:
        raise TrackrunError(
            f"no run among these logged {', '.join(map(repr, unknown))}; "
            f"logged metrics: {', '.join(logged) or 'none'}"
        )
    return list(dict.fromkeys(wanted))


def _identity(runs: Table, columns: Sequence[str]) -> Table:
    return Table({c: runs.columns.get(c, [None] * len(runs)) for c in columns})


def _with_metrics(table: Table, runs: Table, metrics: Sequence[str]) -> Table:
    out = dict(table.columns)
    for metric in metrics:
        out[_free_name(metric, "metrics.", out)] = runs[f"metrics.{metric}"]
    return Table(out)


def _params_table(runs: Table, only_differing: bool) -> Table:
    out = dict(_identity(runs, ("run_id", "name")).columns)
    for column in runs.column_names:
        if not column.startswith("params."):
            continue
        values = runs[column]
        if only_differing and len({json.dumps(_canonical(v)) for v in values}) < 2:
            continue
        out[_free_name(column[len("params.") :], "params.", out)] = values
    return Table(out)


def _free_name(key: str, prefix: str, taken: Mapping[str, Any]) -> str:
    return key if key not in taken and key not in _IDENTITY else prefix + key


def _finished_only(
    runs: Table, groups: list[tuple[str, list[int]]]
) -> tuple[list[tuple[str, list[int]]], int]:
    """``groups`` keeping only the rows of finished runs (groups left empty are dropped),
    and how many rows were left out."""
    statuses = runs["status"]
    kept = [(label, [i for i in rows if statuses[i] == "finished"]) for label, rows in groups]
    left_out = sum(len(rows) for _, rows in groups) - sum(len(rows) for _, rows in kept)
    return [(label, rows) for label, rows in kept if rows], left_out


def _assign_groups(runs: Table, group_by: Sequence[str]) -> list[tuple[str, list[int]]]:
    columns = []
    for key in group_by:
        # A param before a run column of the same name (a param "note" beside the run's
        # note): params are what runs are grouped by, and ``params.`` cannot be mistaken.
        param = key if key.startswith("params.") else f"params.{key}"
        column = param if param in runs.columns else key
        if column not in runs.columns:
            params = [c[len("params.") :] for c in runs.column_names if c.startswith("params.")]
            raise TrackrunError(
                f"group_by: no run has a param or field {key!r}; params: "
                f"{', '.join(params) or 'none'}"
            )
        columns.append((key.removeprefix("params."), runs[column]))
    groups: dict[str, tuple[Any, str, list[int]]] = {}
    for i in range(len(runs)):
        values = [values[i] for _, values in columns]
        canonical = json.dumps([_canonical(v) for v in values])
        label = ", ".join(
            f"{name}={_show(v)}" for (name, _), v in zip(columns, values, strict=True)
        )
        groups.setdefault(canonical, ([_canonical(v) for v in values], label, []))[2].append(i)
    ordered = sorted(groups.values(), key=lambda g: json.dumps(g[0], sort_keys=True))
    return [(label, rows) for _, label, rows in ordered]


def _canonical(value: Any) -> Any:
    """A JSON-comparable form in which 1 and 1.0 are equal but True and 1 are not."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return [type(value).__name__, value]
    if isinstance(value, (int, float)):
        return ["number", float(value) if math.isfinite(value) else str(value)]
    if isinstance(value, (list, tuple)):
        return ["list", [_canonical(v) for v in value]]
    if isinstance(value, dict):
        return ["dict", sorted((str(k), _canonical(v)) for k, v in value.items())]
    return ["other", str(value)]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
