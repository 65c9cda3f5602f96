"""Ingestion: read what run directories appended since last time and apply it to the index.

Exactly-once: each event file's byte offset and last sequence number are stored in
``ingest_offsets`` and updated in the same transaction as the rows they produced, and lines
whose ``seq`` is not above the stored one are skipped when a file is re-read.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from trackrun.events import read_events
from trackrun.ids import is_run_id
from trackrun.layout import TERMINAL_STATUSES, StorePaths

RUN_FIELDS = (
    "run_id",
    "name",
    "status",
    "status_at",
    "notebook",
    "cell_id",
    "note",
    "host",
    "user",
    "pid",
    "proc_start",
    "git_commit",
    "git_branch",
    "git_dirty",
    "detached",
    "created_at",
    "started_at",
    "ended_at",
    "duration",
    "last_event_at",
    "attempts",
    "error",
)


#: How each runs column is stored; values of other types are converted (or dropped as NULL).
_RUN_FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(RUN_FIELDS, "str"),
    **dict.fromkeys(
        ("status_at", "created_at", "started_at", "ended_at", "duration", "last_event_at"),
        "float",
    ),
    "pid": "int",
    "attempts": "int",
    "git_dirty": "bool",
    "detached": "bool",
}


@dataclass
class _Metrics:
    """Metric points of one pass, as columns; steps and times once per event, expanded later."""

    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    #: Per event: its step, its time and how many points it holds.
    event_steps: list[int] = field(default_factory=list)
    event_times: list[float | None] = field(default_factory=list)
    event_sizes: list[int] = field(default_factory=list)
    #: Per run, in order: (run_id, number of points).
    runs: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class _Batch:
    """Everything one ingestion pass will write, gathered before one transaction."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per run, tag operations in file order: ("add" | "remove", tags); new runs start empty.
    tag_ops: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    new_runs: set[str] = field(default_factory=set)
    metrics: _Metrics = field(default_factory=_Metrics)
    artifacts: list[tuple[str, str, int, str, Any]] = field(default_factory=list)
    offsets: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    overlapping: set[str] = field(default_factory=set)
    bad_lines: int = 0


def ingest_runs(con: Any, paths: StorePaths, run_ids: Iterable[str]) -> set[str]:
    """Ingest new data of the given runs; returns the ids whose rows changed.

    Runs whose run.json is missing or unreadable are skipped (a run being created, or a
    foreign folder). The whole pass is one transaction: on any error nothing is applied.
    """
    return set(ingest_run_rows(con, paths, run_ids))


def ingest_run_rows(
    con: Any, paths: StorePaths, run_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Like :func:`ingest_runs`, but returns the new runs row (RUN_FIELDS) of each changed run."""
    ids = sorted(r for r in set(run_ids) if is_run_id(r))
    if not ids:
        return {}
    current = _load_rows(con, ids)
    offsets = {
        (r, f): (o, s)
        for r, f, o, s in con.execute(
            "SELECT run_id, file, byte_offset, last_seq FROM ingest_offsets "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
    }
    last_steps: dict[str, dict[str, int]] = {}
    for r, k, s in con.execute(
        "SELECT run_id, key, last_step FROM metric_summary "
        "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall():
        last_steps.setdefault(r, {})[k] = s
    batch = _Batch()
    for run_id in ids:
        _read_run(paths, run_id, current.get(run_id), offsets, last_steps, batch)
    if batch.bad_lines:
        print(
            f"trackrun: skipped {batch.bad_lines} unreadable event line(s) while indexing",
            file=sys.stderr,
        )
    if not batch.rows and not batch.offsets:
        return {}
    _write_batch(con, batch)
    return batch.rows


def _load_rows(con: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    columns = ", ".join(f'"{c}"' for c in RUN_FIELDS)
    result = con.execute(
        f"SELECT {columns} FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()
    return {row[0]: dict(zip(RUN_FIELDS, row, strict=True)) for row in result}


def _row_from_record(record: dict[str, Any]) -> dict[str, Any]:
    provenance = record.get("provenance") or {}
    git = provenance.get("git") or {}
    process = provenance.get("process") or {}
    row = dict.fromkeys(RUN_FIELDS)
    row.update(
        run_id=record["run_id"],
        name=record.get("name"),
        notebook=record.get("notebook"),
        cell_id=record.get("cell_id"),
        note=record.get("note"),
        user=process.get("user"),
        git_commit=git.get("commit"),
        git_branch=git.get("branch"),
        git_dirty=git.get("dirty"),
        detached=bool((record.get("launch") or {}).get("detached")),
        created_at=record.get("created_at"),
        last_event_at=record.get("created_at"),
        attempts=0,
    )
    return row


def _read_run(
    paths: StorePaths,
    run_id: str,
    row: dict[str, Any] | None,
    offsets: dict[tuple[str, str], tuple[int, int]],
    last_steps: dict[str, dict[str, int]],
    batch: _Batch,
) -> None:
    run_paths = paths.run(run_id)
    changed = False
    if row is None:
        try:
            record = json.loads(run_paths.run_json.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(record, dict) or record.get("run_id") != run_id:
            return
        row = _row_from_record(record)
        params = record.get("params")
        batch.params[run_id] = {"__all__": True, **(params if isinstance(params, dict) else {})}
        batch.tag_ops[run_id] = [("add", _tag_list(record.get("tags")))]
        batch.new_runs.add(run_id)
        changed = True
    points_before = len(batch.metrics)
    run_last = last_steps.setdefault(run_id, {})
    for event_file in run_paths.event_files():
        offset, last_seq = offsets.get((run_id, event_file.name), (0, 0))
        events, new_offset, bad = read_events(event_file, offset)
        batch.bad_lines += bad
        if new_offset == offset:
            continue
        last_seq = _apply_events(run_id, row, events, last_seq, run_last, batch)
        batch.offsets[(run_id, event_file.name)] = (new_offset, last_seq)
        changed = True
    points = len(batch.metrics) - points_before
    if points:
        batch.metrics.runs.append((run_id, points))
    if changed:
        batch.rows[run_id] = row


def _apply_events(
    run_id: str,
    row: dict[str, Any],
    events: list[dict[str, Any]],
    last_seq: int,
    run_last: dict[str, int],
    batch: _Batch,
) -> int:
    """Apply the events whose seq is above ``last_seq``; returns the new last seq.

    Metric events, nearly all of a file, take the inlined path; an event that cannot be
    applied (a value that is not a number...) is skipped and counted as a bad line.
    """
    metrics = batch.metrics
    keys, values = metrics.keys, metrics.values
    event_steps, event_times, event_sizes = (
        metrics.event_steps,
        metrics.event_times,
        metrics.event_sizes,
    )
    last_event_at = row["last_event_at"]
    if not isinstance(last_event_at, (int, float)):
        last_event_at = None
    overlapping = False
    for event in events:
        seq = event["seq"]
        if type(seq) is not int or seq <= last_seq:
            continue
        last_seq = seq
        when = event.get("time")
        if type(when) is not float:
            when = float(when) if isinstance(when, (int, float)) else None
        if when is not None and (last_event_at is None or when > last_event_at):
            last_event_at = when
        if event.get("type") != "metrics":
            row["last_event_at"] = last_event_at
            try:
                _apply(run_id, row, event, when, batch)
            except (KeyError, TypeError, ValueError, AttributeError):
                batch.bad_lines += 1
            continue
        start = len(keys)
        try:
            step = event["step"]
            if type(step) is not int:
                step = _as_step(step)
            for key, raw in event["values"].items():
                values.append(raw if type(raw) is float else _as_value(raw))
                keys.append(key)
                previous = run_last.get(key)
                if previous is None or step > previous:
                    run_last[key] = step
                else:
                    overlapping = True
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            del keys[start:], values[start:]
            batch.bad_lines += 1
            continue
        event_steps.append(step)
        event_times.append(when)
        event_sizes.append(len(keys) - start)
    row["last_event_at"] = last_event_at
    if overlapping:
        batch.overlapping.add(run_id)
    return last_seq


def _as_step(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"step {raw!r} is not a number")
    step = int(raw)
    if not -(2**63) <= step < 2**63:
        raise OverflowError(step)
    return step


def _as_value(raw: Any) -> float:
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        return float(raw)  # "NaN", "Infinity", "-Infinity" as written by the event writer
    raise TypeError(f"metric value {raw!r} is not a number")


def _tag_list(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list):
        return []
    return [str(t) for t in raw]


def _apply(
    run_id: str, row: dict[str, Any], event: dict[str, Any], when: float | None, batch: _Batch
) -> None:
    kind = event.get("type")
    if kind == "status":
        _apply_status(row, event, when)
    elif kind == "params":
        values = event.get("values") or {}
        if isinstance(values, dict):
            batch.params.setdefault(run_id, {}).update(values)
    elif kind == "tags":
        ops = batch.tag_ops.setdefault(run_id, [])
        ops.append(("add", _tag_list(event.get("add"))))
        ops.append(("remove", _tag_list(event.get("remove"))))
    elif kind == "artifact":
        batch.artifacts.append(
            (
                run_id,
                str(event.get("name")),
                int(event.get("size") or 0),
                str(event.get("sha256")),
                when,
            )
        )
    elif kind == "attempt":
        row["attempts"] = max(row["attempts"] or 0, int(event.get("attempt") or 0))
    elif kind == "rename":
        row["name"] = event.get("name") or row["name"]


def _apply_status(row: dict[str, Any], event: dict[str, Any], time: float | None) -> None:
    when = time or 0.0
    if row["status_at"] is not None and when < row["status_at"]:
        return
    status = event.get("status")
    row["status"] = status
    row["status_at"] = when
    if event.get("pid"):
        row["pid"] = event.get("pid")
        row["proc_start"] = event.get("proc_start")
        row["host"] = event.get("host")
    if status == "running":
        if row["started_at"] is None:
            row["started_at"] = when
        row["ended_at"] = None
        row["duration"] = None
        row["error"] = None
    elif status in TERMINAL_STATUSES:
        row["ended_at"] = when
        start = row["started_at"] if row["started_at"] is not None else row["created_at"]
        row["duration"] = when - start if isinstance(start, (int, float)) else None
        row["error"] = event.get("error")


def param_columns(value: Any) -> tuple[str, float | None, str | None]:
    """The (value_json, value_num, value_str) columns of a parameter value."""
    if isinstance(value, bool):
        return json.dumps(value), None, "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        return json.dumps(value), number if math.isfinite(number) else None, json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False), None, value
    if value is None:
        return "null", None, None
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text, None, text


# -- writing ---------------------------------------------------------------------------------
# Rows reach DuckDB as columns: registered numpy arrays for big batches, list parameters
# unnested in SQL for small ones in a process that has not imported numpy (its import costs
# more than converting a few thousand values). Never pyarrow, which would import pandas.

#: Up to this many values (and with numpy not imported yet), columns go as list parameters.
LIST_STAGING_LIMIT = 50_000
_SQL_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}
_Columns = dict[str, tuple[str, list[Any]]]


def _use_numpy(values: int) -> bool:
    return "numpy" in sys.modules or values > LIST_STAGING_LIMIT


def _clean(kind: str, values: list[Any]) -> list[Any]:
    """``values`` as the column kind (str, float, int, bool) wants them; None stays NULL."""
    if kind == "float" and all(type(v) is float for v in values):
        return values
    convert = _CONVERTERS[kind]
    return [None if v is None else convert(v) for v in values]


def _to_str(value: Any) -> str:
    return value if type(value) is str else json.dumps(value, default=str)


def _to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _to_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**63) <= number < 2**63 else None


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": _to_str,
    "float": _to_float,
    "int": _to_int,
    "bool": bool,
}


def _numpy_column(kind: str, values: list[Any]) -> Any:
    import numpy as np

    if kind == "float" and None not in values:
        return np.array(values, dtype=np.float64)  # (numpy would make None a NaN, not NULL)
    if kind == "int" and None not in values:
        return np.array(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@contextlib.contextmanager
def _staged(
    con: Any, name: str, columns: _Columns, arrays: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Make ``columns`` (name -> (kind, cleaned values)), or ready numpy ``arrays``,
    selectable for the duration of the block.

    Yields the relation to select from (a registered view's name, or a subquery) and the
    named parameters that relation needs in every statement that uses it.
    """
    if arrays is None and not _use_numpy(sum(len(v) for _, v in columns.values())):
        selects = ", ".join(
            f'unnest(${name}_{i}::{_SQL_TYPES[kind]}[]) AS "{column}"'
            for i, (column, (kind, _)) in enumerate(columns.items())
        )
        params = {f"{name}_{i}": values for i, (_, values) in enumerate(columns.values())}
        yield f"(SELECT {selects})", params
        return
    if arrays is None:
        arrays = {column: _numpy_column(kind, values) for column, (kind, values) in columns.items()}
    con.register(name, arrays)
    try:
        yield name, {}
    finally:
        con.unregister(name)


def _in_ids(column: str = "run_id") -> str:
    return f"{column} IN (SELECT unnest($ids::VARCHAR[]))"


def _write_batch(con: Any, batch: _Batch) -> None:
    touched = sorted(batch.rows)
    con.execute("BEGIN TRANSACTION")
    try:
        _write_tags(con, batch)
        _write_params(con, batch)
        con.execute(f"DELETE FROM runs WHERE {_in_ids()}", {"ids": touched})
        kinds = _RUN_FIELD_TYPES
        columns = {
            f: (kinds[f], _clean(kinds[f], [batch.rows[r].get(f) for r in touched]))
            for f in RUN_FIELDS
        }
        _insert(con, "runs", columns)
        _write_metrics(con, batch)
        if batch.artifacts:
            names = ("run_id", "name", "size", "sha256", "logged_at")
            _insert(
                con,
                "artifacts",
                {
                    n: (k, _clean(k, [a[i] for a in batch.artifacts]))
                    for i, (n, k) in enumerate(
                        zip(names, ("str", "str", "int", "str", "float"), strict=True)
                    )
                },
            )
        _write_offsets(con, batch)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _write_offsets(con: Any, batch: _Batch) -> None:
    if not batch.offsets:
        return
    columns: _Columns = {
        "run_id": ("str", [k[0] for k in batch.offsets]),
        "file": ("str", [k[1] for k in batch.offsets]),
        "byte_offset": ("int", [v[0] for v in batch.offsets.values()]),
        "last_seq": ("int", [v[1] for v in batch.offsets.values()]),
    }
    with _staged(con, "_staging_offsets", columns) as (staged, params):
        con.execute(
            f"DELETE FROM ingest_offsets o USING {staged} s "
            "WHERE o.run_id = s.run_id AND o.file = s.file",
            params,
        )
        con.execute(
            f"INSERT INTO ingest_offsets SELECT run_id, file, byte_offset, last_seq FROM {staged}",
            params,
        )


def _write_tags(con: Any, batch: _Batch) -> None:
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
        _insert(
            con,
            "tags",
            {"run_id": ("str", [p[0] for p in pairs]), "tag": ("str", [p[1] for p in pairs])},
        )


def _write_params(con: Any, batch: _Batch) -> None:
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
        n: (k, _clean(k, [r[i] for r in rows]))
        for i, (n, k) in enumerate(zip(names, kinds, strict=True))
    }
    with _staged(con, "_staging_params", columns) as (staged, params):
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


def _metric_lists(metrics: _Metrics) -> _Columns:
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


def _metric_arrays(metrics: _Metrics) -> dict[str, Any]:
    import numpy as np

    sizes = np.array(metrics.event_sizes, dtype=np.int64)
    run_ids = np.empty(len(metrics), dtype=object)
    start = 0
    for run_id, count in metrics.runs:
        run_ids[start : start + count] = run_id
        start += count
    return {
        "run_id": run_ids,
        "key": _numpy_column("str", metrics.keys),
        "step": np.repeat(np.array(metrics.event_steps, dtype=np.int64), sizes),
        "value": np.array(metrics.values, dtype=np.float64),
        "wall_time": np.repeat(_numpy_column("float", metrics.event_times), sizes),
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


def _write_metrics(con: Any, batch: _Batch) -> None:
    metrics = batch.metrics
    if not len(metrics):
        return
    overlapping = sorted(batch.overlapping)
    columns: _Columns = {}
    arrays: dict[str, Any] | None = None
    if _use_numpy(len(metrics) * 5):
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
    appended = [r for r, _ in metrics.runs if r not in batch.overlapping]
    with _staged(con, "_staging_metrics", columns, arrays) as (staged, params):
        points = _POINTS.format(staged=staged)
        if overlapping:
            con.execute(
                f"DELETE FROM metrics m USING {staged} s WHERE m.run_id = s.run_id "
                f"AND m.key = s.key AND m.step = s.step AND {_in_ids('m.run_id')}",
                {**params, "ids": overlapping},
            )
        con.execute(f"INSERT INTO metrics SELECT * FROM {points}", params)
        if appended:
            # Only new steps (above each key's last one): fold them into the summary rather
            # than re-aggregating the run's whole history on every ingestion.
            summary = _SUMMARY_OF_POINTS.format(points=points, where=_in_ids())
            args = {**params, "ids": appended}
            con.execute(
                "UPDATE metric_summary AS m SET last = n.last, min = least(m.min, n.min), "
                "max = greatest(m.max, n.max), count = m.count + n.count, "
                f"last_step = n.last_step FROM ({summary}) AS n "
                "WHERE m.run_id = n.run_id AND m.key = n.key",
                args,
            )
            con.execute(
                f"INSERT INTO metric_summary SELECT * FROM ({summary}) AS n WHERE NOT EXISTS "
                "(SELECT 1 FROM metric_summary m WHERE m.run_id = n.run_id AND m.key = n.key)",
                args,
            )
    if overlapping:
        con.execute(f"DELETE FROM metric_summary WHERE {_in_ids()}", {"ids": overlapping})
        con.execute(
            "INSERT INTO metric_summary SELECT run_id, key, arg_max(value, step), "
            "min(value) FILTER (WHERE NOT isnan(value)), "
            "max(value) FILTER (WHERE NOT isnan(value)), count(*), max(step) "
            f"FROM metrics WHERE {_in_ids()} GROUP BY run_id, key",
            {"ids": overlapping},
        )


def _insert(con: Any, table_name: str, columns: _Columns) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with _staged(con, "_staging", columns) as (staged, params):
        con.execute(f"INSERT INTO {table_name} ({names}) SELECT {names} FROM {staged}", params)
