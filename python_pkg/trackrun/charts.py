"""Altair/Vega-Lite specs of run metrics, shared by the notebook and the JupyterLab panel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trackrun.table import Table

if TYPE_CHECKING:
    import altair as alt

#: Points kept per (run, metric) series in a chart: enough to see every spike at screen width.
MAX_POINTS = 2000
#: Size of one metric panel in pixels. Fixed, because Vega-Lite cannot size faceted charts
#: to their container.
PANEL_WIDTH = 340
PANEL_HEIGHT = 200

_FloatArray = npt.NDArray[np.float64]


def downsample(
    steps: Sequence[float] | npt.ArrayLike,
    values: Sequence[float] | npt.ArrayLike,
    max_points: int = MAX_POINTS,
) -> tuple[_FloatArray, _FloatArray]:
    """Reduce one series to at most ``max_points`` points, keeping its extremes.

    ``steps`` and ``values`` are equally long; the series is ordered by step first. Longer
    series are cut into ``(max_points - 1) // 3`` buckets of consecutive points; each bucket
    keeps its first point and the points of its minimum and maximum value (over finite
    values), and the last point of the series is always kept, so spikes and the final value
    survive. Returns ``(steps, values)`` as float arrays in step order. Raises ValueError for
    ``max_points < 4`` or inputs of different lengths.
    """
    if max_points < 4:
        raise ValueError(f"downsample: max_points must be at least 4, not {max_points}")
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"downsample: steps {x.shape} and values {y.shape} must be equal 1-d")
    if x.size > 1 and np.any(x[1:] < x[:-1]):
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
    n = x.size
    if n <= max_points:
        return x.copy(), y.copy()
    buckets = (max_points - 1) // 3
    bucket = np.arange(n) * buckets // n
    finite = np.isfinite(y)
    # Non-finite values must not win min/max: they sort as +inf for the minimum and
    # -inf for the maximum (an all-non-finite bucket then just repeats a kept point).
    low = np.where(finite, y, np.inf)
    high = np.where(finite, -y, np.inf)
    firsts = np.flatnonzero(np.diff(bucket, prepend=-1))
    mins = np.lexsort((low, bucket))[firsts]
    maxs = np.lexsort((high, bucket))[firsts]
    keep = np.unique(np.concatenate([firsts, mins, maxs, [n - 1]]))
    return x[keep], y[keep]


def series_rows(
    history: Table,
    run_names: Mapping[str, str] | None = None,
    keys: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> tuple[list[dict[str, Any]], int]:
    """Chart rows ``{run, run_id, key, step, value, wall_time}`` of a long-format history.

    Non-finite values are dropped (Vega cannot plot them) and every (run, key) series is
    downsampled to ``max_points``. ``run`` is the run's name from ``run_names`` (its id when
    absent), made unique with the id's tail when two runs share a name. ``wall_time``
    (epoch seconds, for time axes) is the logged time of the kept point, None when the
    history has none. Returns the rows and the number of non-finite values dropped. Raises
    KeyError when ``history`` lacks one of the columns run_id, key, step, value.
    """
    run_ids = history["run_id"]
    metric_keys = history["key"]
    wanted = set(keys) if keys is not None else None
    series: dict[tuple[str, str], list[int]] = {}
    for i, (run_id, key) in enumerate(zip(run_ids, metric_keys, strict=True)):
        if wanted is None or key in wanted:
            series.setdefault((run_id, key), []).append(i)
    labels = run_labels(dict.fromkeys(r for r, _ in series), run_names)
    steps = np.asarray(history["step"], dtype=np.float64)
    values = np.asarray(history["value"], dtype=np.float64)
    has_time = "wall_time" in history.column_names
    times = np.asarray(history["wall_time"] if has_time else [], dtype=np.float64)
    rows: list[dict[str, Any]] = []
    dropped = 0
    for (run_id, key), index in series.items():
        x, y = steps[index], values[index]
        ok = np.isfinite(x) & np.isfinite(y)
        dropped += int(ok.size - np.count_nonzero(ok))
        x_all = x[ok]
        x, y = downsample(x_all, y[ok], max_points)
        walls = _times_at(x_all, times[index][ok], x) if has_time else [None] * len(x)
        label = labels[run_id]
        rows.extend(
            {
                "run": label,
                "run_id": run_id,
                "key": key,
                "step": _number(s),
                "value": float(v),
                "wall_time": w,
            }
            for s, v, w in zip(x.tolist(), y.tolist(), walls, strict=True)
        )
    return rows, dropped


def _times_at(steps: Any, times: Any, kept: Any) -> list[float | None]:
    """The logged wall time of each kept step (a series has one point per step)."""
    order = np.argsort(steps, kind="stable")
    at = np.searchsorted(steps[order], kept).clip(0, max(len(order) - 1, 0))
    found = times[order][at] if len(order) else np.array([])
    return [float(t) if np.isfinite(t) else None for t in found.tolist()]


def run_labels(run_ids: Iterable[str], run_names: Mapping[str, str] | None) -> dict[str, str]:
    """Legend label of each run: its name (id when unnamed), with the id's tail if names clash."""
    names = {run_id: (run_names or {}).get(run_id) or run_id for run_id in run_ids}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        run_id: name if counts[name] == 1 else f"{name} ({run_id[-6:]})"
        for run_id, name in names.items()
    }


def metric_curves(
    history: Table,
    run_names: Mapping[str, str] | None = None,
    keys: Sequence[str] | None = None,
    max_points: int = MAX_POINTS,
) -> alt.Chart | alt.FacetChart:
    """Line chart of metric histories: one panel per metric key, one colored line per run.

    ``history`` is the long-format Table of ``Store.metrics`` (columns run_id, key, step,
    value; fetch it with ``max_points`` there so large histories stay in the index).
    ``run_names`` maps run ids to legend labels; ``keys`` picks and orders the panels
    (default: every key, sorted). Series are downsampled to ``max_points`` keeping
    extremes; NaN and infinities are left out and counted in the chart's title, so
    ``json.dumps(chart.to_dict(), allow_nan=False)`` always works. Clicking a legend entry
    highlights that run; hovering a point shows run, step and value. With no data, returns
    a chart that says so. Raises KeyError when ``history`` lacks a needed column.
    """
    import altair as alt

    rows, dropped = series_rows(history, run_names, keys, max_points)
    if not rows:
        message = [{"text": "no metrics recorded"}]
        empty: alt.Chart = (
            alt.Chart(alt.InlineData(values=message)).mark_text().encode(text="text:N")
        )
        return empty
    present = dict.fromkeys(row["key"] for row in rows)
    panels = [k for k in keys if k in present] if keys is not None else sorted(present)
    legend_order = list(dict.fromkeys(row["run"] for row in rows))
    highlight = alt.selection_point(fields=["run"], bind="legend")
    base = alt.Chart().encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title="run", sort=legend_order),
        detail="run_id:N",
    )
    lines = (
        base.mark_line(strokeWidth=1.5, clip=True)
        .encode(opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)))
        .add_params(highlight)
    )
    # Invisible points carry the tooltips: a line mark alone reports one datum per line.
    points = base.mark_point(size=30, filled=True, opacity=0, clip=True).encode(
        tooltip=[
            alt.Tooltip("run:N"),
            alt.Tooltip("key:N", title="metric"),
            alt.Tooltip("step:Q"),
            alt.Tooltip("value:Q", format=".6~g"),
        ]
    )
    chart: alt.FacetChart = (
        alt.layer(lines, points)
        .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
        .facet(
            facet=alt.Facet("key:N", title=None, sort=panels),
            columns=min(2, len(panels)),
            data=alt.InlineData(values=[row for row in rows if row["key"] in panels]),
        )
        .resolve_scale(x="independent", y="independent")
    )
    if dropped:
        note = f"{dropped} non-finite value{'s' if dropped != 1 else ''} (NaN or ±inf) not drawn"
        chart = chart.properties(title=alt.Title(note, fontSize=11, fontWeight="normal"))
    return chart


def _number(step: float) -> int | float:
    return int(step) if step.is_integer() else step


def parallel_coordinates(
    params: Table, keys: Sequence[str], runs: Table, metric: str | None
) -> alt.Chart:
    """Parallel-coordinates chart: one axis per param in ``keys`` plus ``metric``, one line
    per run, colored by the metric.

    ``params`` holds a column per key (and ``run_id``, ``name``); ``runs`` the
    ``metrics.<metric>`` column, row for row. Each axis is scaled to [0, 1] over its own
    range (numbers by value, other values by their sorted order); the tooltip shows the
    real values. Runs without a finite metric value are drawn grey.
    """
    import altair as alt

    axes = [*keys, *([metric] if metric else [])]
    columns = {key: list(params[key]) for key in keys}
    if metric:
        columns[metric] = list(runs.columns.get(f"metrics.{metric}", [None] * len(runs)))
    scaled = {key: _axis_positions(values) for key, values in columns.items()}
    rows: list[dict[str, Any]] = []
    names = list(params.columns.get("name", params["run_id"]))
    for i, run_id in enumerate(params["run_id"]):
        value = columns[metric][i] if metric else None
        colour = float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None
        for order, key in enumerate(axes):
            if scaled[key][i] is None:
                continue
            rows.append(
                {
                    "run_id": run_id,
                    "run": names[i],
                    "axis": key,
                    "order": order,
                    "position": scaled[key][i],
                    "value": str(columns[key][i]),
                    "metric": colour,
                }
            )
    color: Any = (
        alt.Color("metric:Q", title=metric, scale=alt.Scale(scheme="viridis"))
        if metric
        else alt.value("steelblue")
    )
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_line(point=True, opacity=0.7)
        .encode(
            x=alt.X("axis:N", sort=axes, title=None),
            y=alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            detail="run_id:N",
            color=color,
            order="order:Q",
            tooltip=["run:N", "axis:N", "value:N"],
        )
        .properties(width=max(PANEL_WIDTH, 120 * len(axes)), height=PANEL_HEIGHT)
    )
    return chart


def _axis_positions(values: Sequence[Any]) -> list[float | None]:
    """Positions in [0, 1] of one axis's values (None for a missing value)."""
    numbers = [
        float(v)
        for v in values
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
    ]
    if len(numbers) == sum(v is not None for v in values) and numbers:
        low, high = min(numbers), max(numbers)
        span = (high - low) or 1.0
        return [
            None if v is None else (0.5 if high == low else (float(v) - low) / span) for v in values
        ]
    ordered = sorted({str(v) for v in values if v is not None})
    step = max(1, len(ordered) - 1)
    return [
        None if v is None else (0.5 if len(ordered) == 1 else ordered.index(str(v)) / step)
        for v in values
    ]
