"""Read queries over the index: run listings with params and summaries, one run, metric histories."""

from __future__ import annotations

import itertools
import json
import sys
import time
from operator import itemgetter
from typing import Any

from trackrun.errors import AmbiguousRunIdError, RunNotFoundError
from trackrun.ids import check_run_id_prefix, is_run_id
from trackrun.store.filters import compile_filter, compile_order_by
from trackrun.store.schema import LIST_COLUMNS
from trackrun.table import Table


def count_runs(con: Any, filter_text: str | None) -> int:
    """Number of runs matching ``filter_text``."""
    where, params = compile_filter(filter_text)
    row = con.execute(f"SELECT count(*) FROM runs r WHERE {where}", params).fetchone()
    return int(row[0])


def fill_live_durations(table: Table, now: float | None = None) -> Table:
    """Set the duration of each running run in a :func:`list_runs_raw` table to the time so
    far (the index stores none for them); returns the same table, changed in place."""
    if not len(table):
        return table
    durations, started, statuses = table["duration"], table["started_at"], table["status"]
    when = time.time() if now is None else now
    for i, status in enumerate(statuses):
        if status == "running" and durations[i] is None and started[i] is not None:
            durations[i] = when - started[i]
    return table


def list_runs_raw(
    con: Any,
    filter_text: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Table:
    """Runs matching ``filter_text`` in ``order_by`` order, one row each, as a flat Table, as
    the index holds them: a running run has no duration yet (see fill_live_durations).

    Columns: LIST_COLUMNS, ``tags`` (list), then ``params.<key>`` for every param key and
    ``metrics.<key>`` (last value), ``metrics.<key>.min``, ``metrics.<key>.max`` for every
    metric key among the returned runs. Raises FilterError for a malformed filter or order.
    Two statements: the runs, then the tags, params and metric summaries of them (or of
    all runs, when most are chosen) in one query.
    """
    where, params = compile_filter(filter_text)
    order = compile_order_by(order_by)
    columns = ", ".join(f"r.{c}" for c in LIST_COLUMNS)
    sql = (
        f"SELECT {columns}, (SELECT count(*) FROM runs) FROM runs r WHERE {where} ORDER BY {order}"
    )
    args: list[Any] = list(params)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    if offset:
        sql += " OFFSET ?"
        args.append(int(offset))
    rows = con.execute(sql, args).fetchall()
    data: dict[str, list[Any]] = {c: [] for c in LIST_COLUMNS}
    if rows:
        # (the rows end with one more column, the number of runs in the index)
        for name, values in zip(LIST_COLUMNS, zip(*rows, strict=True), strict=False):
            data[name] = list(values)
    ids = data["run_id"]
    count = len(ids)
    data["tags"] = [[] for _ in range(count)]
    if not count:
        return Table(data)
    position = {run_id: i for i, run_id in enumerate(ids)}
    chosen, chosen_args = "WHERE run_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": ids}
    if count * 4 >= rows[0][-1]:
        # Most runs are chosen: reading every row is cheaper than selecting them again.
        chosen, chosen_args = "", {}
    details = con.execute(
        "SELECT 0 AS part, run_id, tag AS key, NULL AS value_json, "
        f"NULL::DOUBLE AS last, NULL::DOUBLE AS min, NULL::DOUBLE AS max FROM tags {chosen} "
        f"UNION ALL SELECT 1, run_id, key, value_json, NULL, NULL, NULL FROM params {chosen} "
        'UNION ALL SELECT 2, run_id, key, NULL, "last", "min", "max" '
        f"FROM metric_summary {chosen} ORDER BY part, key",
        chosen_args,
    ).fetchall()
    where_of = position.get
    parts = {part: list(group) for part, group in itertools.groupby(details, itemgetter(0))}
    tags = data["tags"]
    for _, run_id, tag, *_ in parts.get(0, ()):
        i = where_of(run_id)
        if i is not None:
            tags[i].append(tag)
    params_rows = parts.get(1, [])
    parsed = _json_values([r[3] for r in params_rows])
    for key, group in itertools.groupby(zip(params_rows, parsed, strict=True), lambda p: p[0][2]):
        column: list[Any] = [None] * count
        for row, value in group:
            i = where_of(row[1])
            if i is not None:
                column[i] = value
        data[f"params.{key}"] = column
    summaries: dict[str, tuple[list[Any], list[Any], list[Any]]] = {}
    for _, run_id, key, _, last, low, high in parts.get(2, ()):
        i = where_of(run_id)
        if i is None:
            continue
        lists = summaries.get(key)
        if lists is None:
            lists = summaries[key] = ([None] * count, [None] * count, [None] * count)
        lists[0][i], lists[1][i], lists[2][i] = last, low, high
    metric_cols: dict[str, list[Any]] = {}
    for key, (lasts, lows, highs) in summaries.items():
        metric_cols[f"metrics.{key}"] = lasts
        metric_cols[f"metrics.{key}.min"] = lows
        metric_cols[f"metrics.{key}.max"] = highs
    for name in sorted(metric_cols):
        data[name] = metric_cols[name]
    return Table(data)


def _json_values(texts: list[str]) -> list[Any]:
    """Parse JSON texts: all in one call (one per text costs several times more)."""
    if not texts:
        return []
    try:
        values: list[Any] = json.loads("[" + ",".join(texts) + "]")
    except ValueError:
        values = []
    if len(values) != len(texts):
        values = [json.loads(t) for t in texts]
    return values


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
    params: dict[str, Any] = {}
    tags: list[str] = []
    metrics: dict[str, dict[str, Any]] = {}
    artifacts: list[dict[str, Any]] = []
    for part, name, text, a, b, c, n, m in con.execute(
        "SELECT 0 AS part, key AS name, value_json AS text, NULL::DOUBLE AS a, "
        "NULL::DOUBLE AS b, NULL::DOUBLE AS c, NULL::BIGINT AS n, NULL::BIGINT AS m "
        "FROM params WHERE run_id = $1 "
        "UNION ALL SELECT 1, tag, NULL, NULL, NULL, NULL, NULL, NULL FROM tags WHERE run_id = $1 "
        'UNION ALL SELECT 2, key, NULL, "last", "min", "max", "count", last_step '
        "FROM metric_summary WHERE run_id = $1 "
        "UNION ALL SELECT 3, name, sha256, logged_at, NULL, NULL, size, NULL "
        "FROM artifacts WHERE run_id = $1 "
        "ORDER BY part, name",
        [run_id],
    ).fetchall():
        if part == 0:
            params[name] = json.loads(text)
        elif part == 1:
            tags.append(name)
        elif part == 2:
            metrics[name] = {"last": a, "min": b, "max": c, "count": n, "last_step": m}
        else:
            artifacts.append({"name": name, "size": n, "sha256": text, "logged_at": a})
    result.update(params=params, tags=tags, metrics=metrics, artifacts=artifacts)
    return result


def media_of_run(con: Any, run_id: str) -> Table:
    """The media of one run, ``(key, step, path, width, height)``, by key then step."""
    cursor = con.execute(
        "SELECT key, step, path, width, height FROM media WHERE run_id = ? ORDER BY key, step",
        [run_id],
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return Table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def metric_history(
    con: Any, run_ids: list[str], keys: list[str] | None = None, max_points: int | None = None
) -> Table:
    """Long-format history ``(run_id, key, step, value, wall_time)`` ordered by run, key, step.

    With ``max_points``, each (run, key) series longer than that is reduced to at most
    about ``max_points`` points: the series' step range is cut into ``max_points // 3``
    equal buckets of steps and each bucket keeps its first, minimum and maximum point (NaN
    never displaces a real extreme), and the series keeps its last point, so spikes and the
    final value survive.
    """
    columns: dict[str, list[Any]] = {n: [] for n in ("run_id", "key", "step", "value", "wall_time")}
    for run_id in dict.fromkeys(run_ids):
        if max_points is None:
            result = _full_history(con, run_id, keys)
        else:
            result = _downsampled_history(con, run_id, keys, int(max_points))
        count = len(result["step"])
        columns["run_id"] += [run_id] * count
        for name in ("key", "step", "value", "wall_time"):
            columns[name] += result[name]
    return Table(columns)


def _full_history(con: Any, run_id: str, keys: list[str] | None) -> dict[str, list[Any]]:
    # One query per run (`run_id = ...`), with no ORDER BY and no key strings in the result:
    # sorting and making one Python string per point cost more in DuckDB than sorting here
    # (a scan returns rows in insertion order, which is mostly key-interleaved step order).
    if keys is None:
        names = [
            k
            for (k,) in con.execute(
                "SELECT key FROM metric_summary WHERE run_id = ? ORDER BY key", [run_id]
            ).fetchall()
        ]
    else:
        names = sorted(set(keys))
    if not names:
        return {"key": [], "step": [], "value": [], "wall_time": []}
    if len(names) == 1:
        cursor = con.execute(
            "SELECT 0 AS which, step, value, wall_time FROM metrics "
            "WHERE run_id = $run AND key = $key",
            {"run": run_id, "key": names[0]},
        )
    else:
        cursor = con.execute(
            "SELECT list_position($keys::VARCHAR[], key) - 1 AS which, step, value, wall_time "
            "FROM metrics WHERE run_id = $run AND list_contains($keys::VARCHAR[], key)",
            {"run": run_id, "keys": names},
        )
    if "numpy" not in sys.modules:
        # Tuples are cheaper than importing numpy (~100 ms) in a process that has not.
        rows = cursor.fetchall()
        rows.sort(key=itemgetter(0, 1))  # linear when already in order
        which, steps, values, times = zip(*rows, strict=True) if rows else ((), (), (), ())
        return {
            "key": [names[w] for w in which],
            "step": list(steps),
            "value": list(values),
            "wall_time": list(times),
        }
    import numpy as np

    result = cursor.fetchnumpy()
    key_index = np.asarray(result["which"], dtype=np.int64)
    step_array = result["step"]
    order = _key_step_order(key_index, step_array)
    if order is not None:
        key_index, step_array = key_index[order], step_array[order]
        result = {"value": result["value"][order], "wall_time": result["wall_time"][order]}
    key_names = np.array(names, dtype=object)
    return {
        "key": key_names[key_index].tolist() if len(names) > 1 else names * len(step_array),
        "step": step_array.tolist(),
        "value": result["value"].tolist(),
        "wall_time": result["wall_time"].tolist(),
    }


def _key_step_order(which: Any, steps: Any) -> Any:
    """The permutation that sorts points by (key, step), or None when they already are."""
    import numpy as np

    if len(steps) < 2:
        return None
    key_steps = np.diff(which)
    step_steps = np.diff(steps)
    if not ((key_steps > 0) | ((key_steps == 0) & (step_steps >= 0))).all():
        return np.lexsort((steps, which))
    return None


def _downsampled_history(
    con: Any, run_id: str, keys: list[str] | None, max_points: int
) -> dict[str, list[Any]]:
    args: list[Any] = [run_id]
    key_clause = ""
    if keys:
        key_clause = " AND key IN (SELECT unnest(?::VARCHAR[]))"
        args.append(list(keys))
    base = f"SELECT key, step, value, wall_time FROM metrics WHERE run_id = ?{key_clause}"
    buckets = max(1, max_points // 3)
    args = [*args, max_points, buckets, max_points, max_points]
    result = con.execute(_DOWNSAMPLE_SQL.format(base=base), args).fetchnumpy()
    return {name: result[name].tolist() for name in ("key", "step", "value", "wall_time")}


# Buckets by step (one hash aggregate, no window sorts): each bucket keeps its first point and
# the points of its minimum and maximum value (NaN never displaces a real extreme), and each
# series keeps its last point. Series no longer than max_points come back whole. One GROUP BY
# gives a bucket's three steps at once (three GROUP BYs joined by UNION took 1.5-3x longer).
_DOWNSAMPLE_SQL = """
WITH m AS MATERIALIZED ({base}),
s AS (SELECT key, count(*) AS total, min(step) AS lo, max(step) AS hi FROM m GROUP BY key),
b AS (SELECT key, min(step) AS first,
             arg_min(step, value) FILTER (WHERE NOT isnan(value)) AS low,
             arg_max(step, value) FILTER (WHERE NOT isnan(value)) AS high
      FROM m JOIN s USING (key) WHERE s.total > ?
      GROUP BY key, (m.step - s.lo) * ? // (s.hi - s.lo + 1)),
keep AS (
    SELECT DISTINCT key, unnest([first, low, high]) AS step FROM b
    UNION SELECT key, hi FROM s WHERE total > ?
)
SELECT m.key, m.step, m.value, m.wall_time FROM m JOIN s USING (key) WHERE s.total <= ?
UNION ALL
SELECT m.key, m.step, m.value, m.wall_time FROM m SEMI JOIN keep ON m.key = keep.key AND m.step = keep.step
ORDER BY key, step
"""
