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
from pathlib import Path
from typing import Any

import duckdb

from trackrun.ids import is_run_id
from trackrun.layout import StorePaths
from trackrun.store import arrowread, fastread
from trackrun.store.apply import apply_events, apply_points, bad_event, row_from_record, tag_list
from trackrun.store.batch import Batch
from trackrun.store.reader import parse_lines, read_bytes, read_new
from trackrun.store.rows import write_batch
from trackrun.store.schema import RUN_FIELDS

#: New bytes of this many runs' files are read (and their large chunks parsed in one scan)
#: before the next runs are: a pass over many grown runs holds no more than this in memory.
GROUP_BYTES = 64 * 1024 * 1024
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
        _drop_read(con)


def _ingest_pass(con: Any, paths: StorePaths, ids: list[str]) -> dict[str, dict[str, Any]]:
    state = _State(con, ids)
    batch = Batch()
    group: list[_RunRead] = []
    size = 0
    for run_id in ids:
        read = _read_run(paths, run_id, state)
        if read is None:
            continue
        group.append(read)
        size += sum(len(f.data) for f in read.files)
        if size >= GROUP_BYTES:
            _apply_group(state, group, batch)
            group, size = [], 0
    _apply_group(state, group, batch)
    if not batch.rows and not batch.offsets:
        return {}
    try:
        write_batch(con, batch)
    except _WRITE_ERRORS as error:
        if len(ids) == 1:
            _drop_read(con)
            batch = _quarantine_whole(paths, ids[0], state, error)
            write_batch(con, batch)
        else:
            rows: dict[str, dict[str, Any]] = {}
            _drop_read(con)
            for run_id in ids:
                rows.update(_ingest_pass(con, paths, [run_id]))
                _drop_read(con)
            return rows
    _warn(batch)
    return batch.rows


class _State:
    """What the index holds of the runs of one pass: rows, offsets, each key's last step."""

    def __init__(self, con: Any, ids: list[str]) -> None:
        self.con = con
        self.rows = _load_rows(con, ids)
        self.offsets: dict[tuple[str, str], tuple[int, int]] = {}
        self.last_steps: dict[str, dict[str, int]] = {}
        # Offsets (file, offset, seq) and each key's last step (key, step, NULL): one query.
        for kind, run_id, name, number, seq in con.execute(
            "SELECT 'o', run_id, file, byte_offset, last_seq FROM ingest_offsets "
            "WHERE run_id IN (SELECT unnest($ids::VARCHAR[])) UNION ALL "
            "SELECT 's', run_id, key, last_step, NULL FROM metric_summary "
            "WHERE run_id IN (SELECT unnest($ids::VARCHAR[]))",
            {"ids": ids},
        ).fetchall():
            if kind == "o":
                self.offsets[(run_id, name)] = (number, seq)
            else:
                self.last_steps.setdefault(run_id, {})[name] = number

    def row(self, run_id: str) -> dict[str, Any] | None:
        row = self.rows.get(run_id)
        return None if row is None else dict(row)


def _drop_read(con: Any) -> None:
    """Drop what the pass's native readers parsed (the raw table, the Arrow views)."""
    arrowread.drop_views(con)
    fastread.drop_raw(con)


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
                batch.quarantine.append((run_id, event_file.name, bad_event(event, reason)))
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


def _load_rows(con: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    columns = ", ".join(f'"{c}"' for c in RUN_FIELDS)
    result = con.execute(
        f"SELECT {columns} FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()
    return {row[0]: dict(zip(RUN_FIELDS, row, strict=True)) for row in result}


class _FileRead:
    """The new complete lines of one event file, and what they become."""

    __slots__ = ("data", "end", "last_seq", "name", "native", "offset", "path", "whole")

    def __init__(self, path: Path, offset: int, last_seq: int) -> None:
        self.path = path
        self.name = path.name
        self.offset = offset
        self.last_seq = last_seq
        self.data, self.end, complete = read_bytes(path, offset)
        self.whole = complete and offset == 0
        self.native: fastread.Points | None = None


class _RunRead:
    """What one run's files hold that the index does not have yet."""

    __slots__ = ("files", "record", "row", "run_id")

    def __init__(self, run_id: str, row: dict[str, Any], record: dict[str, Any] | None) -> None:
        self.run_id = run_id
        self.row = row
        #: run.json of a run new to the index (None for a known run).
        self.record = record
        self.files: list[_FileRead] = []


def _read_run(paths: StorePaths, run_id: str, state: _State) -> _RunRead | None:
    """Read a run's new bytes (and run.json when the run is new to the index); None when
    there is nothing to ingest or no run.json yet."""
    run_paths = paths.run(run_id)
    row = state.row(run_id)
    record = None
    if row is None:
        try:
            record = json.loads(run_paths.run_json.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("run_id") != run_id:
            return None
        row = row_from_record(record)
    read = _RunRead(run_id, row, record)
    for event_file in run_paths.event_files():
        offset, last_seq = state.offsets.get((run_id, event_file.name), (0, 0))
        file = _FileRead(event_file, offset, last_seq)
        if file.end != offset:
            read.files.append(file)
    return read if read.files or record is not None else None


def _apply_group(state: _State, group: list[_RunRead], batch: Batch) -> None:
    """Read the chunks of ``group`` in one scan (pyarrow's, where this process has it, or
    DuckDB's for the large ones), then apply every run's events in file order."""
    files = [f for read in group for f in read.files]
    if sum(len(f.data) for f in files) >= arrowread.MIN_PASS_BYTES and arrowread.enabled():
        chunks = [
            fastread.Chunk(f.data, f.last_seq, f.path, f.whole, read.run_id)
            for read in group
            for f in read.files
        ]
        for file, points in zip(files, arrowread.read_chunks(state.con, chunks), strict=True):
            file.native = points
    large = [f for f in files if f.native is None and len(f.data) >= fastread.MIN_BYTES]
    if large:
        chunks = [fastread.Chunk(f.data, f.last_seq, f.path, f.whole) for f in large]
        for file, points in zip(large, fastread.read_chunks(state.con, chunks), strict=True):
            file.native = points
        arrowread.note_large()
    for read in group:
        _apply_run(read, state, batch)


def _apply_run(read: _RunRead, state: _State, batch: Batch) -> None:
    run_id, row, record = read.run_id, read.row, read.record
    if record is not None:
        params = record.get("params")
        batch.params[run_id] = {"__all__": True, **(params if isinstance(params, dict) else {})}
        batch.tag_ops[run_id] = [("add", tag_list(record.get("tags")))]
        batch.new_runs.add(run_id)
    listed_before = len(batch.metrics.keys)
    run_last = state.last_steps.setdefault(run_id, {})
    for file in read.files:
        name, last_seq = file.name, file.last_seq
        if file.native is not None:
            last_seq = apply_points(run_id, name, row, file.native, last_seq, run_last, batch)
        else:
            chunk = parse_lines(file.data, file.offset)
            for line in chunk.bad:
                batch.quarantine.append((run_id, name, line))
            last_seq = apply_events(run_id, name, row, chunk.events, last_seq, run_last, batch)
        file.data = b""  # read and applied: a large pass keeps no more than a group's bytes
        batch.offsets[(run_id, name)] = (file.end, last_seq)
    listed = len(batch.metrics.keys) - listed_before
    if listed:
        batch.metrics.runs.append((run_id, listed))
    batch.rows[run_id] = row
