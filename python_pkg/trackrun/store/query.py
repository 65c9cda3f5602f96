"""Read queries over the index: run listings with params and summaries, one run, metric histories."""

from __future__ import annotations

import json
import time
from typing import Any

from trackrun.errors import AmbiguousRunIdError, RunNotFoundError
from trackrun.ids import check_run_id_prefix, is_run_id
from trackrun.store.filters import compile_filter, compile_order_by
from trackrun.table import Table

LIST_COLUMNS = (
    "run_id",
    "name",
    "status",
    "notebook",
    "started_at",
    "ended_at",
    "duration",
    "attempts",
    "git_commit",
    "detached",
)


def count_runs(con: Any, filter_text: str | None) -> int:
    """Number of runs matching ``filter_text``."""
    where, params = compile_filter(filter_text)
    row = con.execute(f"SELECT count(*) FROM runs r WHERE {where}", params).fetchone()
    return int(row[0])


def list_runs(
    con: Any,
    filter_text: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Table:
    """Runs matching ``filter_text`` in ``order_by`` order, one row each, as a flat Table.

    Columns: LIST_COLUMNS, ``tags`` (list), then ``params.<key>`` for every param key and
    ``metrics.<key>`` (last value), ``metrics.<key>.min``, ``metrics.<key>.max`` for every
    metric key among the returned runs. A running run's duration is the time so far.
    Raises FilterError for a malformed filter or order.
    """
    where, params = compile_filter(filter_text)
    order = compile_order_by(order_by)
    columns = ", ".join(f"r.{c}" for c in LIST_COLUMNS)
    sql = f"SELECT {columns} FROM runs r WHERE {where} ORDER BY {order}"
    args: list[Any] = list(params)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    if offset:
        sql += " OFFSET ?"
        args.append(int(offset))
    rows = con.execute(sql, args).fetchall()
    now = time.time()
    data: dict[str, list[Any]] = {c: [] for c in LIST_COLUMNS}
    for row in rows:
        for name, value in zip(LIST_COLUMNS, row, strict=True):
            data[name].append(value)
    for i, started in enumerate(data["started_at"]):
        if data["duration"][i] is None and started is not None and data["status"][i] == "running":
            data["duration"][i] = now - started
    ids = data["run_id"]
    position = {run_id: i for i, run_id in enumerate(ids)}
    count = len(ids)
    data["tags"] = [[] for _ in range(count)]
    if not count:
        return Table(data)
    for run_id, tag in con.execute(
        "SELECT run_id, tag FROM tags WHERE run_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY tag",
        [ids],
    ).fetchall():
        data["tags"][position[run_id]].append(tag)
    param_cols: dict[str, list[Any]] = {}
    for run_id, key, value_json in con.execute(
        "SELECT run_id, key, value_json FROM params WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall():
        param_cols.setdefault(key, [None] * count)[position[run_id]] = json.loads(value_json)
    metric_cols: dict[str, list[Any]] = {}
    for run_id, key, last, low, high in con.execute(
        "SELECT run_id, key, last, min, max FROM metric_summary "
        "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall():
        i = position[run_id]
        metric_cols.setdefault(f"metrics.{key}", [None] * count)[i] = last
        metric_cols.setdefault(f"metrics.{key}.min", [None] * count)[i] = low
        metric_cols.setdefault(f"metrics.{key}.max", [None] * count)[i] = high
    for key in sorted(param_cols):
        data[f"params.{key}"] = param_cols[key]
    for key in sorted(metric_cols):
        data[key] = metric_cols[key]
    return Table(data)


def resolve_run_id(con: Any, text: str) -> str:
    """Return the full run id for a full id, a unique id prefix, or a unique run name.

    Raises RunNotFoundError or AmbiguousRunIdError (listing the candidates).
    """
    text = text.strip()
    if is_run_id(text):
        if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [text]).fetchone():
            return text
        raise RunNotFoundError(f"no run {text} in this store (see `trackrun ls`)")
    candidates: list[str] = []
    try:
        prefix = check_run_id_prefix(text)
    except Exception:
        prefix = None
    if prefix is not None:
        candidates = [
            r[0]
            for r in con.execute(
                "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT 6",
                [prefix],
            ).fetchall()
        ]
    if not candidates:
        candidates = [
            r[0]
            for r in con.execute(
                "SELECT run_id FROM runs WHERE name = ? ORDER BY run_id LIMIT 6", [text]
            ).fetchall()
        ]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise RunNotFoundError(
            f"no run id starts with, and no run is named, {text!r} (see `trackrun ls`)"
        )
    shown = ", ".join(candidates[:5])
    raise AmbiguousRunIdError(
        f"{text!r} matches several runs ({shown}{', ...' if len(candidates) > 5 else ''}); "
        "give more characters of the id"
    )


def run_summary(con: Any, run_id: str) -> dict[str, Any]:
    """Index facts of one run: its row, params, tags, metric summary and artifacts."""
    cursor = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    if row is None:
        raise RunNotFoundError(f"no run {run_id} in this store (see `trackrun ls`)")
    result: dict[str, Any] = dict(zip(names, row, strict=True))
    result["params"] = {
        k: json.loads(v)
        for k, v in con.execute(
            "SELECT key, value_json FROM params WHERE run_id = ? ORDER BY key", [run_id]
        ).fetchall()
    }
    result["tags"] = [
        r[0]
        for r in con.execute(
            "SELECT tag FROM tags WHERE run_id = ? ORDER BY tag", [run_id]
        ).fetchall()
    ]
    result["metrics"] = {
        key: {"last": last, "min": low, "max": high, "count": n, "last_step": step}
        for key, last, low, high, n, step in con.execute(
            "SELECT key, last, min, max, count, last_step FROM metric_summary "
            "WHERE run_id = ? ORDER BY key",
            [run_id],
        ).fetchall()
    }
    result["artifacts"] = [
        {"name": n, "size": s, "sha256": h, "logged_at": t}
        for n, s, h, t in con.execute(
            "SELECT name, size, sha256, logged_at FROM artifacts WHERE run_id = ? ORDER BY name",
            [run_id],
        ).fetchall()
    ]
    return result


def metric_history(
    con: Any, run_ids: list[str], keys: list[str] | None = None, max_points: int | None = None
) -> Table:
    """Long-format history ``(run_id, key, step, value, wall_time)`` ordered by run, key, step.

    With ``max_points``, each (run, key) series longer than that is reduced to at most
    about ``max_points`` points: the series is cut into buckets by position and each
    bucket keeps its first, minimum and maximum point (NaN never displaces a real extreme),
    and the series keeps its last point, so spikes and the final value survive.
    """
    columns: dict[str, list[Any]] = {n: [] for n in ("run_id", "key", "step", "value", "wall_time")}
    for run_id in dict.fromkeys(run_ids):
        args: list[Any] = [run_id]
        key_clause = ""
        if keys:
            key_clause = " AND key IN (SELECT unnest(?::VARCHAR[]))"
            args.append(list(keys))
        # One query per run: `run_id = ?` lets DuckDB skip row groups of other runs.
        base = f"SELECT key, step, value, wall_time FROM metrics WHERE run_id = ?{key_clause}"
        if max_points is None:
            sql = base + " ORDER BY key, step"
        else:
            sql = _DOWNSAMPLE_SQL.format(base=base)
            args += [int(max_points), max(1, int(max_points) // 3), int(max_points)]
        result = con.execute(sql, args).fetchnumpy()
        count = len(result["step"])
        columns["run_id"] += [run_id] * count
        columns["key"] += result["key"].tolist()
        columns["step"] += result["step"].tolist()
        columns["value"] += result["value"].tolist()
        columns["wall_time"] += result["wall_time"].tolist()
    return Table(columns)


_DOWNSAMPLE_SQL = """
WITH m AS ({base}),
n AS (SELECT *, count(*) OVER (PARTITION BY key) AS total,
             row_number() OVER (PARTITION BY key ORDER BY step) - 1 AS i FROM m),
b AS (SELECT *, CASE WHEN total <= ? THEN i ELSE (i * ? // total) END AS bucket FROM n),
r AS (SELECT *,
        row_number() OVER (PARTITION BY key, bucket ORDER BY step) AS first_rank,
        row_number() OVER (PARTITION BY key, bucket ORDER BY isnan(value), value, step) AS min_rank,
        row_number() OVER (PARTITION BY key, bucket ORDER BY isnan(value), value DESC, step)
            AS max_rank
      FROM b)
SELECT key, step, value, wall_time FROM r
WHERE total <= ? OR first_rank = 1 OR min_rank = 1 OR max_rank = 1 OR i = total - 1
ORDER BY key, step
"""
