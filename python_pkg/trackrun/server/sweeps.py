"""The sweeps of the REST API: their summaries, one sweep's comparison, killing one, and the
run list with each sweep's runs grouped into one line.

A run belongs to a sweep when it carries the tag ``sweep:<sweep id>`` (every run a sweep
makes does; see ``jobs/sweep_runs.py``); the sweep's record in ``<store>/sweeps/`` gives its
name, metric and goal. Methods are blocking: handlers call them from worker threads.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from trackrun.comparison_stats import welch_test
from trackrun.errors import InvalidRunIdError, RunNotFoundError, TrackrunError
from trackrun.ids import is_run_id
from trackrun.jobs import SweepRecord, kill_sweep
from trackrun.server import schemas as s
from trackrun.store import Store
from trackrun.store.filters import compile_filter, compile_order_by
from trackrun.table import Table, jsonable

#: The param that tells the seeds of one setting apart: runs differing only in it are one group.
SEED = "seed"
#: Statuses a sweep's progress counts as failed (the magic's live view counts the same).
FAILED = ("failed", "killed", "lost")
#: A sweep id is ``sw-`` and a run id (jobs.new_sweep makes them so).
SWEEP_ID_PREFIX = "sw-"
#: Run id and sweep id of every run that belongs to a sweep, from its ``sweep:<id>`` tag.
_SWEEP_OF_RUN = (
    "SELECT run_id, min(substr(tag, 7)) AS sweep_id FROM tags "
    "WHERE regexp_full_match(tag, 'sweep:sw-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}') GROUP BY run_id"
)


class InvalidSweepIdError(InvalidRunIdError):
    """A string that should be a sweep id is not one (answered 400)."""

    code = "invalid_sweep_id"


class SweepNotFoundError(RunNotFoundError):
    """No sweep record has this id (answered 404)."""

    code = "sweep_not_found"


def check_sweep_id(text: str) -> str:
    """``text`` if it is a sweep id (``sw-YYYYMMDD-HHMMSS-xxxxxx``), else InvalidSweepIdError.

    A checked id has only digits, lowercase hex letters and dashes after ``sw-``: it is safe
    in a file name and in a filter."""
    if not (text.startswith(SWEEP_ID_PREFIX) and is_run_id(text[len(SWEEP_ID_PREFIX) :])):
        raise InvalidSweepIdError(
            f"{text!r} is not a sweep id; sweep ids look like sw-20261130-004957-2c2066 "
            "(GET /trackrun/api/sweeps lists them)"
        )
    return text


class Sweeps:
    """The sweeps of one Store, for the REST API (records read once per change on disk)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        #: path -> ((mtime_ns, size), record): a record is read again only once it changed.
        self._records: dict[Path, tuple[tuple[int, int], SweepRecord]] = {}

    # -- records --------------------------------------------------------------------------
    def records(self) -> list[SweepRecord]:
        """Every readable sweep record of the store, newest first."""
        # The records' folder, as docs/sweeps.md documents it (jobs.list_sweeps reads the
        # same files, but every one each time: this reads only those that changed).
        folder = self.store.paths.root / "sweeps"
        try:
            paths = [
                p for p in folder.iterdir() if p.suffix == ".json" and p.name.startswith("sw-")
            ]
        except OSError:
            return []
        out = []
        with self._lock:
            known, self._records = self._records, {}
            for path in paths:
                try:
                    stat = path.stat()
                    stamp = (stat.st_mtime_ns, stat.st_size)
                    cached = known.get(path)
                    record = cached[1] if cached and cached[0] == stamp else SweepRecord.load(path)
                except (OSError, ValueError, TypeError):
                    continue  # unreadable, or half-written by another process: skip it
                self._records[path] = (stamp, record)
                out.append(record)
        return sorted(out, key=lambda r: (r.created_at, r.sweep_id), reverse=True)

    def record(self, sweep_id: str) -> SweepRecord:
        """The record of ``sweep_id``; InvalidSweepIdError (400), SweepNotFoundError (404)."""
        check_sweep_id(sweep_id)
        found = next((r for r in self.records() if r.sweep_id == sweep_id), None)
        if found is None:
            raise SweepNotFoundError(f"no sweep {sweep_id} in this store")
        return found

    # -- GET sweeps -----------------------------------------------------------------------
    def summaries(self) -> s.SweepList:
        """Every sweep with its progress counts and best value so far (one index query)."""
        records = self.records()
        counts: dict[str, s.SweepCounts] = {}
        finals: dict[str, list[tuple[str, str, str, float]]] = {}
        metrics = sorted({r.metric for r in records if r.metric})
        with self.store.connection() as con:
            for sweep_id, status, n in con.execute(
                f"SELECT w.sweep_id, r.status, count(*) FROM ({_SWEEP_OF_RUN}) w "
                "JOIN runs r ON r.run_id = w.run_id GROUP BY ALL"
            ).fetchall():
                entry = counts.setdefault(sweep_id, _no_counts())
                entry[_bucket(status)] += n  # type: ignore[literal-required]
            if metrics:
                for sweep_id, run_id, key, status, last in con.execute(
                    f"SELECT w.sweep_id, m.run_id, m.key, r.status, m.last FROM ({_SWEEP_OF_RUN}) w "
                    "JOIN metric_summary m ON m.run_id = w.run_id "
                    "JOIN runs r ON r.run_id = w.run_id "
                    "WHERE list_contains(?, m.key) AND isfinite(m.last)",
                    [metrics],
                ).fetchall():
                    finals.setdefault(sweep_id, []).append((run_id, key, status, float(last)))
        out = []
        for record in records:
            entry = counts.get(record.sweep_id, _no_counts())
            best = _best(record, finals.get(record.sweep_id, []))
            out.append(_summary(record, entry, best))
        return {"sweeps": out}

    # -- GET sweeps/{sweep_id} ------------------------------------------------------------
    def detail(self, sweep_id: str, metric: str | None, goal: str | None) -> s.SweepDetail:
        """The sweep's record, progress and comparison on ``metric`` (see s.SweepDetail).

        ``metric``: one its runs logged (default: the sweep's, else the first logged);
        ``goal``: "max" or "min" (default: the sweep's). Raises InvalidSweepIdError (400),
        SweepNotFoundError (404), TrackrunError (400) for an unknown metric or goal.
        """
        record = self.record(sweep_id)
        if goal is not None and goal not in ("max", "min"):
            raise TrackrunError(f"goal must be max or min, not {goal!r}")
        goal = goal or (record.goal if record.goal in ("max", "min") else "max")
        runs = self.store.runs(f"sweep = {record.sweep_id}")
        logged = sorted(
            c[len("metrics.") :]
            for c in runs.column_names
            if c.startswith("metrics.") and f"{c}.min" in runs.columns
        )
        if metric is not None and metric not in logged:
            raise TrackrunError(
                f"no run of sweep {record.name} logged the metric {metric!r}; "
                f"its runs logged: {', '.join(logged) or 'nothing yet'}"
            )
        chosen = metric or record.metric or (logged[0] if logged else None)
        swept = _swept_names(record, runs)
        group_by = [name for name in swept if name != SEED]
        values = _final_values(runs, chosen)
        statuses = list(runs["status"])
        counts = _no_counts()
        for status in statuses:
            counts[_bucket(status)] += 1  # type: ignore[literal-required]
        finals = [
            (run_id, chosen or "", status, value)
            for run_id, status, value in zip(runs["run_id"], statuses, values, strict=True)
            if value is not None
        ]
        summary = _summary(record, counts, _best(record, finals, chosen, goal))
        groups = _groups(runs, group_by, values)
        detail = {
            **summary,
            "metric": chosen,
            "goal": goal,
            "text": record.text,
            "parallel": record.parallel,
            "seed": record.seed,
            "samples": record.samples,
            "backend": record.backend,
            "swept": swept,
            "group_by": group_by,
            "metrics": logged,
            "groups": groups,
            "test": _test(chosen, goal, groups, runs, values) if chosen else None,
            "points": _points(runs, swept, chosen),
        }
        return cast(s.SweepDetail, jsonable(detail))

    # -- POST sweeps/{sweep_id}/kill ------------------------------------------------------
    def kill(self, sweep_id: str) -> s.SweepKilled:
        """Cancel the sweep's queued runs, then kill its running ones (jobs.kill_sweep)."""
        record = self.record(sweep_id)
        done = kill_sweep(self.store, record)
        return {"sweep_id": sweep_id, "cancelled": done["cancelled"], "killed": done["killed"]}

    # -- GET runs?group_sweeps=true -------------------------------------------------------
    def page(
        self,
        filter_text: str | None,
        order_by: str | None,
        limit: int,
        offset: int,
        expand: list[str],
        row_of: Callable[[dict[str, Any]], s.RunRow],
    ) -> s.RunsPage | None:
        """``GET runs`` with each sweep's runs as one line (see s.RunsPage and ``lines``);
        None when no run is in a sweep. ``row_of`` makes a wire row of a runs() row; the
        caller sets ``change_token``."""
        grouped = self.lines(filter_text, order_by, limit, offset, expand)
        if grouped is None:
            return None
        lines, total = grouped
        ids = list(dict.fromkeys(run_id for run_id, _ in lines))
        # Checked run ids from the index: safe inside quotes.
        query = "id in (" + ", ".join(f'"{run_id}"' for run_id in ids) + ")"
        table = self.store.runs(query, limit=len(ids)) if ids else Table({})
        rows = {row["run_id"]: row_of(row) for row in table}
        # A run deleted between the two queries is left out; the change feed tells the rest.
        kept = [(rows[run_id], sweep) for run_id, sweep in lines if run_id in rows]
        return {
            "runs": [row for row, _ in kept],
            "sweep_lines": [i for i, (_, sweep) in enumerate(kept) if sweep],
            "total": total,
            "offset": offset,
            "limit": limit,
            "change_token": "",
        }

    def lines(
        self,
        filter_text: str | None,
        order_by: str | None,
        limit: int,
        offset: int,
        expand: list[str],
    ) -> tuple[list[tuple[str, bool]], int] | None:
        """Lines ``offset``..``offset + limit`` of the run list with each sweep's runs as one
        line, and the number of lines; None when no run of the store is in a sweep (then
        the plain list is the same).

        A sweep's line sits where its first run (in ``order_by`` order, among the runs
        matching ``filter_text``) would; the sweeps in ``expand`` are followed by their
        matching runs, in order. Each line is ``(run id, stands for its sweep)``. Raises
        FilterError for a malformed filter or order, InvalidSweepIdError for a bad id.
        """
        opened = [check_sweep_id(sweep_id) for sweep_id in expand]
        where, params = compile_filter(filter_text)
        order = compile_order_by(order_by)
        lines_sql = (
            "WITH m AS (SELECT r.run_id, w.sweep_id, row_number() OVER (ORDER BY "
            f"{order}) AS pos FROM runs r LEFT JOIN ({_SWEEP_OF_RUN}) w "
            f"ON w.run_id = r.run_id WHERE {where}), "
            "g AS (SELECT run_id, sweep_id, pos, "
            "min(pos) OVER (PARTITION BY coalesce(sweep_id, run_id)) AS head FROM m), "
            "lines AS (SELECT run_id, sweep_id IS NOT NULL AS sweep, head, 0 AS sub, pos "
            "FROM g WHERE pos = head UNION ALL SELECT run_id, FALSE, head, 1, pos FROM g "
            "WHERE list_contains(?::VARCHAR[], sweep_id)) "
        )
        args = [*params, opened]
        with self.store.connection() as con:
            if con.execute(f"SELECT 1 FROM ({_SWEEP_OF_RUN}) LIMIT 1").fetchone() is None:
                return None
            rows = con.execute(
                lines_sql + "SELECT run_id, sweep FROM lines ORDER BY head, sub, pos "
                "LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            total = con.execute(lines_sql + "SELECT count(*) FROM lines", args).fetchone()
        return [(run_id, bool(sweep)) for run_id, sweep in rows], int(total[0])


# -- helpers ----------------------------------------------------------------------------------
def _no_counts() -> s.SweepCounts:
    return {"queued": 0, "running": 0, "done": 0, "failed": 0}


def _bucket(status: str) -> str:
    if status == "finished":
        return "done"
    if status in FAILED:
        return "failed"
    return status if status in ("queued", "running") else "queued"


def _best(
    record: SweepRecord,
    finals: list[tuple[str, str, str, float]],
    metric: str | None = None,
    goal: str | None = None,
) -> tuple[str, float] | None:
    """The run with the best last value of the metric among runs that did not fail."""
    metric = metric or record.metric
    goal = goal or record.goal
    scored = [
        (run_id, value)
        for run_id, key, status, value in finals
        if key == metric and status not in FAILED and math.isfinite(value)
    ]
    if not metric or not scored:
        return None
    pick = min if goal == "min" else max
    return pick(scored, key=lambda item: (item[1], item[0]))


def _summary(
    record: SweepRecord, counts: s.SweepCounts, best: tuple[str, float] | None
) -> s.SweepSummary:
    return {
        "sweep_id": record.sweep_id,
        "name": record.name,
        "metric": record.metric,
        "goal": "min" if record.goal == "min" else "max",
        "created": float(record.created_at),
        "total": counts["queued"] + counts["running"] + counts["done"] + counts["failed"],
        "counts": counts,
        "best_run_id": best[0] if best else None,
        "best_value": best[1] if best else None,
    }


def _swept_names(record: SweepRecord, runs: Table) -> list[str]:
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


def _final_values(runs: Table, metric: str | None) -> list[float | None]:
    column = runs.columns.get(f"metrics.{metric}") if metric else None
    if column is None:
        return [None] * len(runs)
    return [
        float(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        else None
        for v in column
    ]


def _groups(runs: Table, group_by: list[str], values: list[float | None]) -> list[s.SweepGroup]:
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


def _test(
    metric: str,
    goal: str,
    groups: list[s.SweepGroup],
    runs: Table,
    values: list[float | None],
) -> s.SweepTest | None:
    """Welch's t-test (comparison.welch_test) of the best group against the runner-up."""
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


def _points(runs: Table, swept: list[str], metric: str | None) -> list[s.SweepPoint]:
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
