"""Writing one ingestion pass's rows into the index, in one transaction with the offsets."""

from __future__ import annotations

import collections
import contextlib
import json
import math
import time
from typing import Any

from trackrun.store.batch import Batch, Metrics
from trackrun.store.fastread import RAW_POINTS
from trackrun.store.schema import RUN_COLUMNS, RUN_FIELDS
from trackrun.store.staging import (
    SQL_TYPES,
    Columns,
    clean,
    insert,
    numpy_column,
    stage,
    use_numpy,
)

#: How each runs column is staged (its kind), from its type in the schema.
_RUN_KINDS = {
    name: {sql: kind for kind, sql in SQL_TYPES.items()}[sql_type] for name, sql_type in RUN_COLUMNS
}


def _in_ids(column: str = "run_id") -> str:
    return f"{column} IN (SELECT unnest($ids::VARCHAR[]))"


def write_batch(con: Any, batch: Batch) -> None:
    """Write ``batch`` and its offsets in one transaction (rolled back on any error)."""
    touched = sorted(batch.rows)
    con.execute("BEGIN TRANSACTION")
    try:
        _write_tags(con, batch)
        _write_params(con, batch)
        con.execute(f"DELETE FROM runs WHERE {_in_ids()}", {"ids": touched})
        kinds = _RUN_KINDS
        columns = {
            f: (kinds[f], clean(kinds[f], [batch.rows[r].get(f) for r in touched]))
            for f in RUN_FIELDS
        }
        if touched:
            insert(con, "runs", columns)
        _write_metrics(con, batch)
        if batch.artifacts:
            names = ("run_id", "name", "size", "sha256", "logged_at")
            insert(
                con,
                "artifacts",
                {
                    n: (k, clean(k, [a[i] for a in batch.artifacts]))
                    for i, (n, k) in enumerate(
                        zip(names, ("str", "str", "int", "str", "float"), strict=True)
                    )
                },
            )
        _write_media(con, batch)
        _write_quarantine(con, batch)
        _write_offsets(con, batch)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _write_media(con: Any, batch: Batch) -> None:
    """Insert the pass's media rows; a (run, key, step) logged again keeps its newest row."""
    if not batch.media:
        return
    newest = list({(m[0], m[1], m[2]): m for m in batch.media}.values())
    names = ("run_id", "key", "step", "path", "width", "height")
    kinds = ("str", "str", "int", "str", "int", "int")
    columns: Columns = {
        n: (k, clean(k, [m[i] for m in newest]))
        for i, (n, k) in enumerate(zip(names, kinds, strict=True))
    }
    with stage(con, "_staging_media", columns) as (staged, params):
        con.execute(
            f"DELETE FROM media m USING {staged} s "
            "WHERE m.run_id = s.run_id AND m.key = s.key AND m.step = s.step",
            params,
        )
        con.execute(
            f"INSERT INTO media SELECT run_id, key, step, path, width, height FROM {staged}",
            params,
        )


def _write_quarantine(con: Any, batch: Batch) -> None:
    if not batch.quarantine:
        return
    lines = [line for _, _, line in batch.quarantine]
    insert(
        con,
        "quarantine",
        {
            "run_id": ("str", [q[0] for q in batch.quarantine]),
            "file": ("str", [q[1] for q in batch.quarantine]),
            "byte_offset": ("int", [line.offset for line in lines]),
            "seq": ("int", clean("int", [line.seq for line in lines])),
            "reason": ("str", [line.reason for line in lines]),
            "line": ("str", [line.text for line in lines]),
            "found_at": ("float", [time.time()] * len(lines)),
        },
    )


def _write_offsets(con: Any, batch: Batch) -> None:
    if not batch.offsets:
        return
    columns: Columns = {
        "run_id": ("str", [k[0] for k in batch.offsets]),
        "file": ("str", [k[1] for k in batch.offsets]),
        "byte_offset": ("int", [v[0] for v in batch.offsets.values()]),
        "last_seq": ("int", [v[1] for v in batch.offsets.values()]),
    }
    with stage(con, "_staging_offsets", columns) as (staged, params):
        con.execute(
            f"DELETE FROM ingest_offsets o USING {staged} s "
            "WHERE o.run_id = s.run_id AND o.file = s.file",
            params,
        )
        con.execute(
            f"INSERT INTO ingest_offsets SELECT run_id, file, byte_offset, last_seq FROM {staged}",
            params,
        )


def _write_tags(con: Any, batch: Batch) -> None:
    if not batch.tag_ops:
        return
    ids = sorted(batch.tag_ops)
    final: dict[str, set[str]] = {run_id: set() for run_id in ids}
    known = [r for r in ids if r not in batch.new_runs]
    if known:
        for run_id, tag in con.execute(
            f"SELECT run_id, tag FROM tags WHERE {_in_ids()}", {"ids": known}
        ).fetchall():
            final[run_id].add(tag)
    for run_id in ids:
        for op, tags in batch.tag_ops[run_id]:
            if op == "add":
                final[run_id].update(tags)
            else:
                final[run_id].difference_update(tags)
    con.execute(f"DELETE FROM tags WHERE {_in_ids()}", {"ids": ids})
    pairs = [(r, t) for r in ids for t in sorted(final[r])]
    if pairs:
        insert(
            con,
            "tags",
            {"run_id": ("str", [p[0] for p in pairs]), "tag": ("str", [p[1] for p in pairs])},
        )


def _write_params(con: Any, batch: Batch) -> None:
    rows: list[tuple[str, str, str, float | None, str | None]] = []
    replace_all: list[str] = []
    for run_id, values in batch.params.items():
        if values.pop("__all__", False):
            replace_all.append(run_id)
        for key, value in values.items():
            rows.append((run_id, str(key), *param_columns(value)))
    if replace_all:
        con.execute(f"DELETE FROM params WHERE {_in_ids()}", {"ids": replace_all})
    if not rows:
        return
    names = ("run_id", "key", "value_json", "value_num", "value_str")
    kinds = ("str", "str", "str", "float", "str")
    columns = {
        n: (k, clean(k, [r[i] for r in rows]))
        for i, (n, k) in enumerate(zip(names, kinds, strict=True))
    }
    with stage(con, "_staging_params", columns) as (staged, params):
        if any(r[0] not in batch.new_runs for r in rows):
            con.execute(
                f"DELETE FROM params p USING {staged} s "
                "WHERE p.run_id = s.run_id AND p.key = s.key",
                params,
            )
        con.execute(
            f"INSERT INTO params SELECT run_id, key, value_json, value_num, value_str FROM {staged}",
            params,
        )


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


def _write_metrics(con: Any, batch: Batch) -> None:
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
    with stage(con, "_staging_metrics", columns, arrays) as (staged_rel, params):
        _write_points(con, batch, staged_rel, params)
    _resummarise(con, overlapping)


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
        f"FROM {RAW_POINTS} AS p JOIN (SELECT unnest($native_files::VARCHAR[]) AS file, "
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
        if batch.overlapping:
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
    ready: dict[str, list[tuple[str, float, float | None, float | None, int, int]]] | None = None,
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
    # One evaluation of the new points: known keys fold in, new keys are added.
    con.execute(
        f"MERGE INTO metric_summary AS m USING ({summary}) AS n "
        "ON m.run_id = n.run_id AND m.key = n.key WHEN MATCHED THEN UPDATE SET "
        "last = n.last, min = least(m.min, n.min), max = greatest(m.max, n.max), "
        "count = m.count + n.count, last_step = n.last_step WHEN NOT MATCHED THEN "
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


def param_columns(value: Any) -> tuple[str, float | None, str | None]:
    """The (value_json, value_num, value_str) columns of a parameter value."""
    if isinstance(value, bool):
        return json.dumps(value), None, "true" if value else "false"
    if isinstance(value, (int, float)):
        try:
            number: float | None = float(value)
        except OverflowError:  # an int beyond a double's range: kept as text only
            number = None
        finite = number is not None and math.isfinite(number)
        return json.dumps(value), number if finite else None, json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False), None, value
    if value is None:
        return "null", None, None
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text, None, text


def delete_from_index(con: Any, run_ids: list[str]) -> None:
    """Remove every row of the given runs from the index, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (
            "runs",
            "params",
            "tags",
            "metrics",
            "metric_summary",
            "artifacts",
            "media",
            "ingest_offsets",
            "quarantine",
        ):
            con.execute(
                f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [run_ids]
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
