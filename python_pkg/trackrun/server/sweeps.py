"""The sweeps of the REST API: their records, their summaries, one sweep's detail with its
comparison (computed in ``sweep_comparison.py``), killing one. The run list with each
sweep's runs as one line is ``sweep_lines.py``'s.

A run belongs to a sweep when it carries the tag ``sweep:<sweep id>`` (every run a sweep
makes does; see ``jobs/sweep_runs.py``); the sweep's record in ``<store>/sweeps/`` gives its
name, metric and goal. Methods are blocking: handlers call them from worker threads.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import cast

from trackrun.errors import InvalidRunIdError, RunNotFoundError, TrackrunError
from trackrun.ids import is_run_id
from trackrun.jobs import SweepRecord, kill_sweep
from trackrun.server import schemas as s
from trackrun.server.sweep_comparison import (
    SEED,
    best_against_runner_up,
    final_values,
    metric_points,
    seed_groups,
    swept_names,
)
from trackrun.store import Store
from trackrun.table import jsonable

#: Statuses a sweep's progress counts as failed (the magic's live view counts the same).
FAILED = ("failed", "killed", "lost")
#: A sweep id is ``sw-`` and a run id (jobs.new_sweep makes them so).
SWEEP_ID_PREFIX = "sw-"
#: Run id and sweep id of every run that belongs to a sweep, from its ``sweep:<id>`` tag.
SWEEP_OF_RUN = (
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
                f"SELECT w.sweep_id, r.status, count(*) FROM ({SWEEP_OF_RUN}) w "
                "JOIN runs r ON r.run_id = w.run_id GROUP BY ALL"
            ).fetchall():
                entry = counts.setdefault(sweep_id, _no_counts())
                entry[_bucket(status)] += n  # type: ignore[literal-required]
            if metrics:
                for sweep_id, run_id, key, status, last in con.execute(
                    f"SELECT w.sweep_id, m.run_id, m.key, r.status, m.last FROM ({SWEEP_OF_RUN}) w "
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
        swept = swept_names(record, runs)
        group_by = [name for name in swept if name != SEED]
        values = final_values(runs, chosen)
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
        groups = seed_groups(runs, group_by, values)
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
            "test": best_against_runner_up(chosen, goal, groups, runs, values) if chosen else None,
            "points": metric_points(runs, swept, chosen),
        }
        return cast(s.SweepDetail, jsonable(detail))

    # -- POST sweeps/{sweep_id}/kill ------------------------------------------------------
    def kill(self, sweep_id: str) -> s.SweepKilled:
        """Cancel the sweep's queued runs, then kill its running ones (jobs.kill_sweep)."""
        record = self.record(sweep_id)
        done = kill_sweep(self.store, record)
        return {"sweep_id": sweep_id, "cancelled": done["cancelled"], "killed": done["killed"]}


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
