"""Ingestion: read what run directories appended since last time and apply it to the index.

Exactly-once: each event file's byte offset and last sequence number are stored in
``ingest_offsets`` and updated in the same transaction as the rows they produced, and lines
whose ``seq`` is not above the stored one are skipped when a file is re-read.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from trackrun.events import decode_number, read_events
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


@dataclass
class _Batch:
    """Everything one ingestion pass will write, gathered before one transaction."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per run, tag operations in file order: ("add" | "remove", tags); new runs start empty.
    tag_ops: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    new_runs: set[str] = field(default_factory=set)
    metric_cols: tuple[list[str], list[str], list[int], list[float], list[Any]] = field(
        default_factory=lambda: ([], [], [], [], [])
    )
    artifacts: list[tuple[str, str, int, str, Any]] = field(default_factory=list)
    offsets: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    overlapping: set[str] = field(default_factory=set)
    bad_lines: int = 0


def ingest_runs(con: Any, paths: StorePaths, run_ids: Iterable[str]) -> set[str]:
    """Ingest new data of the given runs; returns the ids whose rows changed.

    Runs whose run.json is missing or unreadable are skipped (a run being created, or a
    foreign folder). The whole pass is one transaction: on any error nothing is applied.
    """
    ids = sorted(r for r in set(run_ids) if is_run_id(r))
    if not ids:
        return set()
    current = _load_rows(con, ids)
    offsets = {
        (r, f): (o, s)
        for r, f, o, s in con.execute(
            "SELECT run_id, file, byte_offset, last_seq FROM ingest_offsets "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
    }
    last_steps = {
        (r, k): s
        for r, k, s in con.execute(
            "SELECT run_id, key, last_step FROM metric_summary "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall()
    }
    batch = _Batch()
    for run_id in ids:
        _read_run(paths, run_id, current.get(run_id), offsets, last_steps, batch)
    if batch.bad_lines:
        print(
            f"trackrun: skipped {batch.bad_lines} unreadable event line(s) while indexing",
            file=sys.stderr,
        )
    if not batch.rows and not batch.offsets:
        return set()
    _write_batch(con, batch)
    return set(batch.rows)


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
    last_steps: dict[tuple[str, str], int],
    batch: _Batch,
) -> None:
    run_paths = paths.run(run_id)
    changed = False
    if row is None:
        try:
            record = json.loads(run_paths.run_json.read_text())
        except (OSError, ValueError):
            return
        if record.get("run_id") != run_id:
            return
        row = _row_from_record(record)
        batch.params[run_id] = {"__all__": True, **(record.get("params") or {})}
        batch.tag_ops[run_id] = [("add", list(record.get("tags") or []))]
        batch.new_runs.add(run_id)
        changed = True
    for event_file in run_paths.event_files():
        offset, last_seq = offsets.get((run_id, event_file.name), (0, 0))
        events, new_offset, bad = read_events(event_file, offset)
        batch.bad_lines += bad
        if new_offset == offset:
            continue
        for event in events:
            seq = event.get("seq")
            if not isinstance(seq, int) or seq <= last_seq:
                continue
            last_seq = seq
            _apply(run_id, row, event, last_steps, batch)
        batch.offsets[(run_id, event_file.name)] = (new_offset, last_seq)
        changed = True
    if changed:
        batch.rows[run_id] = row


def _apply(
    run_id: str,
    row: dict[str, Any],
    event: dict[str, Any],
    last_steps: dict[tuple[str, str], int],
    batch: _Batch,
) -> None:
    kind = event.get("type")
    when = event.get("time")
    if isinstance(when, (int, float)) and (row["last_event_at"] or 0) < when:
        row["last_event_at"] = when
    if kind == "metrics":
        step = int(event["step"])
        run_ids, keys, steps, values, times = batch.metric_cols
        for key, raw in event["values"].items():
            previous = last_steps.get((run_id, key))
            if previous is not None and step <= previous:
                batch.overlapping.add(run_id)
            last_steps[(run_id, key)] = step if previous is None else max(previous, step)
            run_ids.append(run_id)
            keys.append(key)
            steps.append(step)
            values.append(decode_number(raw))
            times.append(when)
    elif kind == "status":
        _apply_status(row, event)
    elif kind == "params":
        batch.params.setdefault(run_id, {}).update(event.get("values") or {})
    elif kind == "tags":
        ops = batch.tag_ops.setdefault(run_id, [])
        ops.append(("add", list(event.get("add") or [])))
        ops.append(("remove", list(event.get("remove") or [])))
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


def _apply_status(row: dict[str, Any], event: dict[str, Any]) -> None:
    when = float(event.get("time") or 0)
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
        row["duration"] = when - start if start is not None else None
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


def _write_batch(con: Any, batch: _Batch) -> None:
    touched = sorted(batch.rows)
    con.execute("BEGIN TRANSACTION")
    try:
        _write_tags(con, batch)
        _write_params(con, batch)
        con.execute("DELETE FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [touched])
        columns = {f: [batch.rows[r].get(f) for r in touched] for f in RUN_FIELDS}
        _insert(con, "runs", pa.table(columns, schema=_RUNS_SCHEMA))
        _write_metrics(con, batch)
        if batch.artifacts:
            names = ("run_id", "name", "size", "sha256", "logged_at")
            cols = {n: [a[i] for a in batch.artifacts] for i, n in enumerate(names)}
            _insert(con, "artifacts", pa.table(cols))
        _write_offsets(con, batch)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _write_offsets(con: Any, batch: _Batch) -> None:
    if not batch.offsets:
        return
    table = pa.table(
        {
            "run_id": [k[0] for k in batch.offsets],
            "file": [k[1] for k in batch.offsets],
            "byte_offset": pa.array([v[0] for v in batch.offsets.values()], pa.int64()),
            "last_seq": pa.array([v[1] for v in batch.offsets.values()], pa.int64()),
        }
    )
    con.register("_staging_offsets", table)
    try:
        con.execute(
            "DELETE FROM ingest_offsets o USING _staging_offsets s "
            "WHERE o.run_id = s.run_id AND o.file = s.file"
        )
        con.execute("INSERT INTO ingest_offsets SELECT * FROM _staging_offsets")
    finally:
        con.unregister("_staging_offsets")


def _write_tags(con: Any, batch: _Batch) -> None:
    if not batch.tag_ops:
        return
    ids = sorted(batch.tag_ops)
    final: dict[str, set[str]] = {run_id: set() for run_id in ids}
    for run_id, tag in con.execute(
        "SELECT run_id, tag FROM tags WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall():
        if run_id not in batch.new_runs:
            final[run_id].add(tag)
    for run_id in ids:
        for op, tags in batch.tag_ops[run_id]:
            if op == "add":
                final[run_id].update(tags)
            else:
                final[run_id].difference_update(tags)
    con.execute("DELETE FROM tags WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    pairs = [(r, t) for r in ids for t in sorted(final[r])]
    if pairs:
        _insert(
            con, "tags", pa.table({"run_id": [p[0] for p in pairs], "tag": [p[1] for p in pairs]})
        )


def _write_params(con: Any, batch: _Batch) -> None:
    rows: list[tuple[str, str, str, float | None, str | None]] = []
    replace_all: list[str] = []
    for run_id, values in batch.params.items():
        if values.pop("__all__", False):
            replace_all.append(run_id)
        for key, value in values.items():
            rows.append((run_id, key, *param_columns(value)))
    if replace_all:
        con.execute(
            "DELETE FROM params WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [replace_all]
        )
    if not rows:
        return
    names = ("run_id", "key", "value_json", "value_num", "value_str")
    table = pa.table(
        {
            n: pa.array([r[i] for r in rows], pa.float64() if n == "value_num" else pa.string())
            for i, n in enumerate(names)
        }
    )
    con.register("_staging_params", table)
    try:
        con.execute(
            "DELETE FROM params p USING _staging_params s "
            "WHERE p.run_id = s.run_id AND p.key = s.key"
        )
        con.execute("INSERT INTO params SELECT * FROM _staging_params")
    finally:
        con.unregister("_staging_params")


def _write_metrics(con: Any, batch: _Batch) -> None:
    run_ids, keys, steps, values, times = batch.metric_cols
    if not run_ids:
        return
    if batch.overlapping:
        # A resumed attempt re-logged steps: the newest point of each (key, step) wins.
        newest = {
            (r, k, s): i for i, (r, k, s) in enumerate(zip(run_ids, keys, steps, strict=True))
        }
        if len(newest) < len(run_ids):
            keep = sorted(newest.values())
            run_ids = [run_ids[i] for i in keep]
            keys = [keys[i] for i in keep]
            steps = [steps[i] for i in keep]
            values = [values[i] for i in keep]
            times = [times[i] for i in keep]
    table = pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "wall_time": pa.array(times, pa.float64()),
        }
    )
    con.register("_staging_metrics", table)
    try:
        if batch.overlapping:
            con.execute(
                "DELETE FROM metrics m USING _staging_metrics s WHERE m.run_id = s.run_id "
                "AND m.key = s.key AND m.step = s.step "
                "AND m.run_id IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(batch.overlapping)],
            )
        con.execute("INSERT INTO metrics SELECT * FROM _staging_metrics")
    finally:
        con.unregister("_staging_metrics")
    touched = sorted(set(run_ids))
    con.execute(
        "DELETE FROM metric_summary WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [touched]
    )
    con.execute(
        "INSERT INTO metric_summary SELECT run_id, key, arg_max(value, step), "
        "min(value) FILTER (WHERE NOT isnan(value)), max(value) FILTER (WHERE NOT isnan(value)), "
        "count(*), max(step) FROM metrics WHERE run_id IN (SELECT unnest(?::VARCHAR[])) "
        "GROUP BY run_id, key",
        [touched],
    )


def _insert(con: Any, table_name: str, table: Any) -> None:
    con.register("_staging", table)
    try:
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        con.execute(f"INSERT INTO {table_name} ({columns}) SELECT {columns} FROM _staging")
    finally:
        con.unregister("_staging")


_RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("name", pa.string()),
        ("status", pa.string()),
        ("status_at", pa.float64()),
        ("notebook", pa.string()),
        ("cell_id", pa.string()),
        ("note", pa.string()),
        ("host", pa.string()),
        ("user", pa.string()),
        ("pid", pa.int64()),
        ("proc_start", pa.string()),
        ("git_commit", pa.string()),
        ("git_branch", pa.string()),
        ("git_dirty", pa.bool_()),
        ("detached", pa.bool_()),
        ("created_at", pa.float64()),
        ("started_at", pa.float64()),
        ("ended_at", pa.float64()),
        ("duration", pa.float64()),
        ("last_event_at", pa.float64()),
        ("attempts", pa.int32()),
        ("error", pa.string()),
    ]
)
