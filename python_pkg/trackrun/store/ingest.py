"""Ingestion: read what run directories appended since last time and turn it into rows.

Exactly-once: each event file's byte offset and last sequence number are stored in
``ingest_offsets`` and updated in the same transaction as the rows they produced, and lines
whose ``seq`` is not above the stored one are skipped when a file is re-read.

Nothing a writer put in a file can stop ingestion: a line that is not an event, or an event
that cannot be applied (a step out of range, a value that is not a number, text DuckDB
refuses), is kept raw in the ``quarantine`` table, counted, warned about once, and skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import duckdb

from trackrun.ids import is_run_id
from trackrun.layout import TERMINAL_STATUSES, StorePaths
from trackrun.store import fastread
from trackrun.store.batch import Batch
from trackrun.store.reader import BadLine, parse_lines, read_bytes, read_new
from trackrun.store.rows import drop_points, stage_lists, write_batch
from trackrun.store.schema import RUN_FIELDS

#: Steps are 0 <= step < 2**63 (a BIGINT that is never negative).
MAX_STEP = 2**63
#: What a failed write of a pass can raise because of what the files held (not an I/O error
#: of the index, such as a full disk, which must reach the caller).
_WRITE_ERRORS = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
    UnicodeEncodeError,
    OverflowError,
    ValueError,
    TypeError,
)


def ingest_run_rows(
    con: Any, paths: StorePaths, run_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Ingest what the given runs appended since the last pass; returns the new ``runs`` row
    (RUN_FIELDS) of each run that changed.

    Runs whose run.json is missing or unreadable are skipped (a run being created, or a
    foreign folder). The pass is one transaction. If the index refuses it (a value it cannot
    convert), each run is written on its own, and the new lines of a run that the index still
    refuses go to the quarantine table whole, so that one bad run never blocks the others.
    Raises only for errors of the index itself (I/O, a full disk).
    """
    ids = sorted(r for r in set(run_ids) if is_run_id(r))
    if not ids:
        return {}
    try:
        return _ingest_pass(con, paths, ids)
    finally:
        drop_points(con)


def _ingest_pass(con: Any, paths: StorePaths, ids: list[str]) -> dict[str, dict[str, Any]]:
    state = _State(con, ids)
    batch = Batch()
    for run_id in ids:
        _read_run(paths, run_id, state.row(run_id), state, batch)
    if not batch.rows and not batch.offsets:
        return {}
    try:
        write_batch(con, batch)
    except _WRITE_ERRORS as error:
        if len(ids) == 1:
            drop_points(con)
            batch = _quarantine_whole(paths, ids[0], state, error)
            write_batch(con, batch)
        else:
            rows: dict[str, dict[str, Any]] = {}
            drop_points(con)
            for run_id in ids:
                rows.update(_ingest_pass(con, paths, [run_id]))
                drop_points(con)
            return rows
    _warn(batch)
    return batch.rows


class _State:
    """What the index holds of the runs of one pass: rows, offsets, each key's last step."""

    def __init__(self, con: Any, ids: list[str]) -> None:
        self.con = con
        self.rows = _load_rows(con, ids)
        self.offsets: dict[tuple[str, str], tuple[int, int]] = {
            (r, f): (o, s)
            for r, f, o, s in con.execute(
                "SELECT run_id, file, byte_offset, last_seq FROM ingest_offsets "
                "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
                [ids],
            ).fetchall()
        }
        self.last_steps: dict[str, dict[str, int]] = {}
        for r, k, s in con.execute(
            "SELECT run_id, key, last_step FROM metric_summary "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ).fetchall():
            self.last_steps.setdefault(r, {})[k] = s

    def row(self, run_id: str) -> dict[str, Any] | None:
        row = self.rows.get(run_id)
        return None if row is None else dict(row)


def _quarantine_whole(paths: StorePaths, run_id: str, state: _State, error: BaseException) -> Batch:
    """A pass of one run that keeps every new line in quarantine and moves the offsets on."""
    reason = f"the index refused this run's new events: {_first_line(error)}"
    batch = Batch()
    for event_file in paths.run(run_id).event_files():
        offset, last_seq = state.offsets.get((run_id, event_file.name), (0, 0))
        chunk = read_new(event_file, offset)
        if chunk.end == offset:
            continue
        for line in chunk.bad:
            batch.quarantine.append((run_id, event_file.name, line))
        for event in chunk.events:
            if event["seq"] > last_seq:
                last_seq = event["seq"]
                batch.quarantine.append((run_id, event_file.name, _bad_event(event, reason)))
        batch.offsets[(run_id, event_file.name)] = (chunk.end, last_seq)
    return batch


def _warn(batch: Batch) -> None:
    """One warning per pass that quarantined lines (each line is quarantined only once)."""
    if not batch.quarantine:
        return
    runs = sorted({run_id for run_id, _, _ in batch.quarantine})
    first = batch.quarantine[0][2]
    print(
        f"trackrun: {len(batch.quarantine)} event line(s) of run {', '.join(runs[:3])}"
        f"{' ...' if len(runs) > 3 else ''} could not be indexed and were quarantined "
        f"(first: {first.reason}); the runs' files are unchanged; see them with "
        'trackrun.sql("SELECT * FROM quarantine")',
        file=sys.stderr,
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _bad_event(event: dict[str, Any], reason: str) -> BadLine:
    try:
        text = json.dumps(event, ensure_ascii=False, default=str)
        text.encode()
    except (ValueError, UnicodeEncodeError):
        text = json.dumps(event, default=str)
    return BadLine(None, event.get("seq"), reason, text)


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
    paths: StorePaths, run_id: str, row: dict[str, Any] | None, state: _State, batch: Batch
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
    listed_before = len(batch.metrics.keys)
    run_last = state.last_steps.setdefault(run_id, {})
    for event_file in run_paths.event_files():
        name = event_file.name
        offset, last_seq = state.offsets.get((run_id, name), (0, 0))
        data, end = read_bytes(event_file, offset)
        if end == offset:
            continue
        points = None
        if len(data) >= fastread.MIN_BYTES:
            # Points read so far go to the points table first, to keep the order they came in.
            stage_lists(state.con, batch.metrics)
            base = batch.metrics.next_ord
            points = fastread.parse(state.con, data, last_seq, run_id, base)
        if points is not None:
            last_seq = _apply_points(run_id, name, row, points, last_seq, run_last, batch)
        else:
            chunk = parse_lines(data, offset)
            for line in chunk.bad:
                batch.quarantine.append((run_id, name, line))
            last_seq = _apply_events(run_id, name, row, chunk.events, last_seq, run_last, batch)
        batch.offsets[(run_id, name)] = (end, last_seq)
        changed = True
    listed = len(batch.metrics.keys) - listed_before
    if listed:
        batch.metrics.runs.append((run_id, listed))
    if changed:
        batch.rows[run_id] = row


def _apply_events(
    run_id: str,
    file: str,
    row: dict[str, Any],
    events: list[dict[str, Any]],
    last_seq: int,
    run_last: dict[str, int],
    batch: Batch,
) -> int:
    """Apply the events whose seq is above ``last_seq``; returns the new last seq.

    Metric events, nearly all of a file, take the inlined path; an event that cannot be
    applied (a step out of range, a value that is not a number...) goes to quarantine.
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
        if seq <= last_seq:
            continue
        last_seq = seq
        when = event.get("time")
        if type(when) is not float:
            when = _as_time(when)
        if when is not None and (last_event_at is None or when > last_event_at):
            last_event_at = when
        if event.get("type") != "metrics":
            row["last_event_at"] = last_event_at
            try:
                _apply(run_id, row, event, when, batch)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
                reason = f"a {event.get('type')!r} event that cannot be applied ({error!r})"
                batch.quarantine.append((run_id, file, _bad_event(event, reason)))
            continue
        start = len(keys)
        try:
            step = event["step"]
            if type(step) is not int or not 0 <= step < MAX_STEP:
                step = _as_step(step)
            for key, raw in event["values"].items():
                values.append(raw if type(raw) is float else _as_value(raw))
                keys.append(key)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            del keys[start:], values[start:]
            reason = f"a metrics event that cannot be applied ({error!r})"
            batch.quarantine.append((run_id, file, _bad_event(event, reason)))
            continue
        for i in range(start, len(keys)):
            previous = run_last.get(keys[i])
            if previous is None or step > previous:
                run_last[keys[i]] = step
            else:
                overlapping = True
        event_steps.append(step)
        event_times.append(when)
        event_sizes.append(len(keys) - start)
    row["last_event_at"] = last_event_at
    if overlapping:
        batch.overlapping.add(run_id)
    return last_seq


def _apply_points(
    run_id: str,
    file: str,
    row: dict[str, Any],
    points: fastread.Points,
    last_seq: int,
    run_last: dict[str, int],
    batch: Batch,
) -> int:
    """Apply a chunk the native reader parsed; returns the new last seq (as _apply_events)."""
    _apply_events(run_id, file, row, points.others, last_seq, run_last, batch)
    last = row["last_event_at"]
    if points.max_time is not None and (
        not isinstance(last, (int, float)) or points.max_time > last
    ):
        row["last_event_at"] = points.max_time
    for key, (first, top, increasing) in points.key_steps.items():
        previous = run_last.get(key)
        if not increasing or (previous is not None and first <= previous):
            batch.overlapping.add(run_id)  # a resumed attempt re-logged steps
        run_last[key] = top if previous is None else max(previous, top)
    metrics = batch.metrics
    metrics.staged[run_id] = metrics.staged.get(run_id, 0) + points.count
    metrics.next_ord += points.last_seq + 1
    return points.last_seq


def _as_step(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"step {raw!r} is not a number")
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError(f"step {raw!r} is not a whole number")
    step = int(raw)
    if not 0 <= step < MAX_STEP:
        raise ValueError(f"step {step} is outside 0 <= step < 2**63")
    return step


def _as_time(raw: Any) -> float | None:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:
            return None
    return None


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
    run_id: str, row: dict[str, Any], event: dict[str, Any], when: float | None, batch: Batch
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
    elif kind == "media":
        batch.media.append(
            (
                run_id,
                str(event["key"]),
                _as_step(event["step"]),
                str(event["path"]),
                int(event["width"]),
                int(event["height"]),
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
