"""Writing one ingestion pass's metric points into ``metrics`` and folding them into
``metric_summary``: from Python columns, or straight from the native reader's raw table."""

from __future__ import annotations

import collections
import contextlib
from typing import Any

import duckdb

from trackrun.store import arrowread, fastread
from trackrun.store.batch import Batch, Metrics
from trackrun.store.fastread import SummaryRow, raw_points
from trackrun.store.staging import Columns, clean, numpy_column, stage, use_numpy

#: MERGE INTO came with DuckDB 1.4 (the package supports 1.1 and later).
_HAS_MERGE = tuple(int(p) for p in duckdb.__version__.split(".")[:2] if p.isdigit()) >= (1, 4)
#: How a known key's summary takes in its new points' summary ``n``.
_FOLD = (
    "last = n.last, min = least(m.min, n.min), max = greatest(m.max, n.max), "
    "count = m.count + n.count, last_step = n.last_step"
)


def _in_ids(column: str = "run_id") -> str:
    return f"{column} IN (SELECT unnest($ids::VARCHAR[]))"


def _metric_lists(metrics: Metrics) -> Columns:
    sizes = metrics.event_sizes
    return {
        "run_id": ("str", [r for r, count in metrics.runs for _ in range(count)]),
        "key": ("str", metrics.keys),
        "step": (
            "int",
            [s for s, n in zip(metrics.event_steps, sizes, strict=True) for _ in range(n)],
        ),
        "value": ("float", metrics.values),
        "wall_time": (
            "float",
            [t for t, n in zip(metrics.event_times, sizes, strict=True) for _ in range(n)],
        ),
    }


def _metric_arrays(metrics: Metrics) -> dict[str, Any]:
    import numpy as np

    sizes = np.array(metrics.event_sizes, dtype=np.int64)
    run_ids = np.empty(len(metrics), dtype=object)
    start = 0
    for run_id, count in metrics.runs:
        run_ids[start : start + count] = run_id
        start += count
    return {
        "run_id": run_ids,
        "key": numpy_column("str", metrics.keys),
        "step": np.repeat(np.array(metrics.event_steps, dtype=np.int64), sizes),
        "value": np.array(metrics.values, dtype=np.float64),
        "wall_time": np.repeat(numpy_column("float", metrics.event_times), sizes),
    }


def _newest_points(run_ids: list[str], keys: list[str], steps: list[int]) -> list[int] | None:
    """Indexes of the points that no later point of the same (run, key, step) replaces, or
    None when that is every point."""
    seen: set[tuple[str, str, int]] = set()
    keep: list[int] = []
    triples = list(zip(run_ids, keys, steps, strict=True))
    for i in range(len(triples) - 1, -1, -1):
        if triples[i] not in seen:
            seen.add(triples[i])
            keep.append(i)
    return None if len(keep) == len(triples) else keep[::-1]


#: The staged points; DuckDB reads a NaN in a numpy column as NULL, and a metric is never NULL.
_POINTS = (
    "(SELECT run_id, key, step, coalesce(value, 'NaN'::DOUBLE) AS value, wall_time FROM {staged})"
)
_SUMMARY_OF_POINTS = (
    "SELECT run_id, key, arg_max(value, step) AS last, "
    "min(value) FILTER (WHERE NOT isnan(value)) AS min, "
    "max(value) FILTER (WHERE NOT isnan(value)) AS max, count(*) AS count, max(step) AS last_step "
    "FROM {points} WHERE {where} GROUP BY run_id, key"
)


def write_metrics(con: Any, batch: Batch) -> None:
    metrics = batch.metrics
    if not len(metrics):
        return
    overlapping = sorted(batch.overlapping)
    if metrics.native:
        _write_native(con, batch)
        _resummarise(con, overlapping)
        return
    columns: Columns = {}
    arrays: dict[str, Any] | None = None
    if use_numpy(len(metrics) * 5):
        arrays = _metric_arrays(metrics)
    else:
        columns = _metric_lists(metrics)
    if overlapping:
        # A resumed attempt re-logged steps: the newest point of each (key, step) wins.
        if arrays is not None:
            keep = _newest_points(*(arrays[c].tolist() for c in ("run_id", "key", "step")))
            if keep is not None:
                arrays = {name: column[keep] for name, column in arrays.items()}
        else:
            keep = _newest_points(*(columns[c][1] for c in ("run_id", "key", "step")))
            if keep is not None:
                columns = {n: (k, [v[i] for i in keep]) for n, (k, v) in columns.items()}
    # Few points (as lists): their summary rows cost less in Python than a second
    # evaluation of the staged lists in SQL.
    ready = _summaries(columns, batch) if arrays is None else None
    with stage(con, "_staging_metrics", columns, arrays) as (staged_rel, params):
        _write_points(con, batch, staged_rel, params, ready)
    _resummarise(con, overlapping)


def _summaries(columns: Columns, batch: Batch) -> dict[str, list[SummaryRow]]:
    """The metric_summary rows of the new points of each appended run (not overlapping)."""
    found: dict[tuple[str, str], list[Any]] = {}
    overlapping = batch.overlapping
    for run_id, key, step, value in zip(
        columns["run_id"][1],
        columns["key"][1],
        columns["step"][1],
        columns["value"][1],
        strict=True,
    ):
        if run_id in overlapping:
            continue
        row = found.get((run_id, key))
        if row is None:
            number = value == value  # (not a NaN: min and max leave NaNs out)
            found[(run_id, key)] = [
                value,
                value if number else None,
                value if number else None,
                1,
                step,
            ]
            continue
        row[3] += 1
        if step >= row[4]:
            row[0], row[4] = value, step
        if value == value:
            if row[1] is None or value < row[1]:
                row[1] = value
            if row[2] is None or value > row[2]:
                row[2] = value
    out: dict[str, list[SummaryRow]] = {}
    for (run_id, key), (last, least, most, count, top) in found.items():
        out.setdefault(run_id, []).append((key, last, least, most, count, top))
    return out


def _write_native(con: Any, batch: Batch) -> None:
    """Insert the points of the chunks read natively straight from the raw table (with
    those read line by line in the same pass, if any)."""
    metrics = batch.metrics
    files = {
        "native_files": [n[0] for n in metrics.native],
        "native_runs": [n[1] for n in metrics.native],
        "native_bases": [n[2] for n in metrics.native],
    }
    native = (
        "SELECT f.run_id, p.key, p.step, p.value, p.time AS wall_time, f.base + p.seq AS ord "
        f"FROM {raw_points(con, arrowread.views_sql(con))} AS p JOIN (SELECT unnest($native_files::VARCHAR[]) AS file, "
        "unnest($native_runs::VARCHAR[]) AS run_id, unnest($native_bases::BIGINT[]) AS base) "
        "AS f USING (file)"
    )
    columns: Columns = {}
    if metrics.keys:
        columns = _metric_lists(metrics)
        sizes = metrics.event_sizes
        columns["ord"] = (
            "int",
            [o for o, n in zip(metrics.event_ords, sizes, strict=True) for _ in range(n)],
        )
    with contextlib.ExitStack() as stack:
        params: dict[str, Any] = dict(files)
        union = native
        if columns:
            lists, lists_params = stack.enter_context(stage(con, "_staging_lists", columns))
            params.update(lists_params)
            union += f" UNION ALL SELECT run_id, key, step, value, wall_time, ord FROM {lists}"
        direct = arrowread.run_points_sql(con)
        if not batch.overlapping and not columns and direct and not fastread.has_raw(con):
            # Only pyarrow's points, each with its run: inserted as they are (no join).
            staged, params = f"({direct})", {}
        elif batch.overlapping:
            # A resumed attempt re-logged steps: the newest point of each (key, step) wins.
            staged = (
                f"(SELECT run_id, key, step, value, wall_time FROM ({union}) QUALIFY "
                "row_number() OVER (PARTITION BY run_id, key, step ORDER BY ord DESC) = 1)"
            )
        else:
            staged = f"(SELECT run_id, key, step, value, wall_time FROM ({union}))"
        # A run whose new points are all one chunk's: its summary rows are known already.
        chunks = collections.Counter(run_id for _, run_id, _, _ in metrics.native)
        listed = {run_id for run_id, _ in metrics.runs}
        ready = {
            run_id: metrics.native_summary[run_id]
            for run_id, count in chunks.items()
            if count == 1 and run_id not in listed
        }
        _write_points(con, batch, staged, params, ready)


def _write_points(
    con: Any,
    batch: Batch,
    staged: str,
    params: dict[str, Any],
    ready: dict[str, list[SummaryRow]] | None = None,
) -> None:
    """Insert the staged points, and fold them into metric_summary for appended runs
    (``ready``: runs whose new points' summary rows are known already)."""
    metrics = batch.metrics
    overlapping = sorted(batch.overlapping)
    appended = [r for r in metrics.run_ids() if r not in batch.overlapping]
    points = _POINTS.format(staged=staged)
    if overlapping:
        con.execute(
            f"DELETE FROM metrics m USING {staged} s WHERE m.run_id = s.run_id "
            f"AND m.key = s.key AND m.step = s.step AND {_in_ids('m.run_id')}",
            {**params, "ids": overlapping},
        )
    con.execute(f"INSERT INTO metrics SELECT * FROM {points}", params)
    # Only new steps (above each key's last one): fold them into the summary rather than
    # re-aggregating the run's whole history on every ingestion.
    ready = ready or {}
    computed = [r for r in appended if r not in ready]
    if computed:
        summary = _SUMMARY_OF_POINTS.format(points=points, where=_in_ids())
        _fold_summary(con, batch, summary, {**params, "ids": computed}, computed)
    known = [r for r in appended if r in ready]
    if known:
        rows = [(r, *row) for r in known for row in ready[r]]
        names = ("run_id", "key", "last", "min", "max", "count", "last_step")
        kinds = ("str", "str", "float", "float", "float", "int", "int")
        columns: Columns = {
            n: (k, clean(k, [row[i] for row in rows]))
            for i, (n, k) in enumerate(zip(names, kinds, strict=True))
        }
        with stage(con, "_staging_summary", columns) as (relation, args):
            summary = (
                "SELECT run_id, key, coalesce(last, 'NaN'::DOUBLE) AS last, min, max, count, "
                f"last_step FROM {relation}"
            )
            _fold_summary(con, batch, summary, args, known)


def _fold_summary(
    con: Any, batch: Batch, summary: str, args: dict[str, Any], run_ids: list[str]
) -> None:
    """Fold ``summary`` (the new points' metric_summary rows of ``run_ids``) in."""
    if all(r in batch.new_runs for r in run_ids):
        con.execute(f"INSERT INTO metric_summary {summary}", args)
        return
    if not _HAS_MERGE:
        con.execute(
            f"UPDATE metric_summary AS m SET {_FOLD} FROM ({summary}) AS n "
            "WHERE m.run_id = n.run_id AND m.key = n.key",
            args,
        )
        con.execute(
            f"INSERT INTO metric_summary SELECT * FROM ({summary}) AS n WHERE NOT EXISTS "
            "(SELECT 1 FROM metric_summary m WHERE m.run_id = n.run_id AND m.key = n.key)",
            args,
        )
        return
    # One evaluation of the new points: known keys fold in, new keys are added.
    con.execute(
        f"MERGE INTO metric_summary AS m USING ({summary}) AS n "
        f"ON m.run_id = n.run_id AND m.key = n.key WHEN MATCHED THEN UPDATE SET {_FOLD} "
        "WHEN NOT MATCHED THEN "
        "INSERT VALUES (n.run_id, n.key, n.last, n.min, n.max, n.count, n.last_step)",
        args,
    )


def _resummarise(con: Any, overlapping: list[str]) -> None:
    """Rebuild the summary of runs whose steps were re-logged, from their whole history."""
    if not overlapping:
        return
    con.execute(f"DELETE FROM metric_summary WHERE {_in_ids()}", {"ids": overlapping})
    con.execute(
        "INSERT INTO metric_summary SELECT run_id, key, arg_max(value, step), "
        "min(value) FILTER (WHERE NOT isnan(value)), "
        "max(value) FILTER (WHERE NOT isnan(value)), count(*), max(step) "
        f"FROM metrics WHERE {_in_ids()} GROUP BY run_id, key",
        {"ids": overlapping},
    )
