"""One sweep's runs compared on a metric, for ``GET sweeps/{sweep_id}``: the names the sweep
varies, its groups of seeds (runs alike but for the seed) with mean and sd of their final
values, Welch's t-test of the best group against the runner-up, and the points of the
params-against-metric chart.

Functions of a ``runs()`` table of the sweep's runs; ``sweeps.py`` calls them from
``Sweeps.detail``.
"""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from trackrun.comparison_stats import welch_test
from trackrun.jobs import SweepRecord
from trackrun.server import schemas as s
from trackrun.table import Table

#: The param that tells the seeds of one setting apart: runs differing only in it are one group.
SEED = "seed"


def swept_names(record: SweepRecord, runs: Table) -> list[str]:
    """Names the sweep varies: those of its points with two values or more, in the order the
    grammar wrote them; for a record without points, the params its runs differ in."""
    names: list[str] = []
    if record.points:
        for point in record.points:
            names += [name for name in point if name not in names]
        varying = [n for n in names if len({json.dumps(_key(p.get(n))) for p in record.points}) > 1]
    else:
        names = [c[len("params.") :] for c in runs.column_names if c.startswith("params.")]
        varying = [n for n in names if len({json.dumps(_key(v)) for v in runs[f"params.{n}"]}) > 1]
    return [n for n in varying if f"params.{n}" in runs.columns]


def final_values(runs: Table, metric: str | None) -> list[float | None]:
    """Each run's last value of ``metric``, in the order of ``runs``; None where it logged
    none or a non-finite one (every value None when ``metric`` is None)."""
    column = runs.columns.get(f"metrics.{metric}") if metric else None
    if column is None:
        return [None] * len(runs)
    return [
        float(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        else None
        for v in column
    ]


def seed_groups(runs: Table, group_by: list[str], values: list[float | None]) -> list[s.SweepGroup]:
    """Runs with the same values of ``group_by``, in order of those values; mean and sd over
    the final values of their finished runs (as ``trackrun.compare`` computes them)."""
    members: dict[str, list[int]] = {}
    params_of: dict[str, dict[str, Any]] = {}
    for i in range(len(runs)):
        params = {name: runs[f"params.{name}"][i] for name in group_by}
        key = json.dumps([_key(params[n]) for n in group_by])
        members.setdefault(key, []).append(i)
        params_of[key] = params
    out: list[s.SweepGroup] = []
    for key in sorted(members, key=lambda k: _order([_key(v) for v in params_of[k].values()])):
        rows = members[key]
        finished = _finished_values(runs, rows, values)
        params = params_of[key]
        out.append(
            {
                "label": ", ".join(f"{n}={_show(params[n])}" for n in group_by) or "all runs",
                "params": params,
                "run_ids": [runs["run_id"][i] for i in rows],
                "n": len(finished),
                "mean": statistics.fmean(finished) if finished else None,
                "sd": statistics.stdev(finished) if len(finished) > 1 else None,
                "missing": len(rows) - len(finished),
            }
        )
    return out


def _finished_values(runs: Table, rows: list[int], values: list[float | None]) -> list[float]:
    statuses = runs["status"]
    return [value for i in rows if statuses[i] == "finished" and (value := values[i]) is not None]


def best_against_runner_up(
    metric: str,
    goal: str,
    groups: list[s.SweepGroup],
    runs: Table,
    values: list[float | None],
) -> s.SweepTest | None:
    """Welch's t-test (comparison_stats.welch_test) of the best group against the runner-up;
    None with fewer than two groups holding a value."""
    scored = [g for g in groups if g["mean"] is not None]
    if len(scored) < 2:
        return None
    scored.sort(key=lambda g: -(g["mean"] or 0.0) if goal == "max" else g["mean"] or 0.0)
    best, runner = scored[0], scored[1]
    position = {run_id: i for i, run_id in enumerate(runs["run_id"])}

    def finals(group: s.SweepGroup) -> list[float]:
        return _finished_values(runs, [position[r] for r in group["run_ids"]], values)

    result = welch_test(metric, (best["label"], runner["label"]), finals(best), finals(runner))
    return {
        "metric": metric,
        "best": best["label"],
        "runner_up": runner["label"],
        "n_best": result.n[0],
        "n_runner_up": result.n[1],
        "mean_best": result.means[0],
        "mean_runner_up": result.means[1],
        "difference": result.difference,
        "ci_low": result.ci[0] if result.ci else None,
        "ci_high": result.ci[1] if result.ci else None,
        "df": result.df,
        "p_value": result.p_value,
        "message": result.message,
    }


def metric_points(runs: Table, swept: list[str], metric: str | None) -> list[s.SweepPoint]:
    """One point per run for the params-against-metric chart: its ``swept`` params and its
    last value of ``metric`` (null without one)."""
    column = runs.columns.get(f"metrics.{metric}") if metric else None
    out: list[s.SweepPoint] = []
    for i, run_id in enumerate(runs["run_id"]):
        out.append(
            {
                "run_id": run_id,
                "name": runs["name"][i],
                "params": {name: runs[f"params.{name}"][i] for name in swept},
                "value": column[i] if column is not None else None,
                "status": runs["status"][i],
            }
        )
    return out


def _key(value: Any) -> Any:
    """A JSON-comparable form of a param value in which 1 and 1.0 are one value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return [type(value).__name__, value]
    if isinstance(value, (int, float)):
        return ["number", float(value) if math.isfinite(value) else str(value)]
    return ["other", json.dumps(value, sort_keys=True, default=str)]


def _order(keys: list[Any]) -> list[tuple[int, float, str]]:
    """A sort key of ``_key`` forms: numbers by value, then other values by their text."""
    out = []
    for kind, value in keys:
        if kind == "number" and isinstance(value, float):
            out.append((0, value, ""))
        else:
            out.append((1, 0.0, json.dumps([kind, value], default=str)))
    return out


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
