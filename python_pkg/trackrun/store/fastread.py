"""Reading large chunks of events with DuckDB's native JSON reader: every file of a pass in one scan.

A training run appends tens of thousands of metric lines between two looks; parsing them
with Python's ``json`` and walking them in Python costs several times what DuckDB's own
``read_json`` needs. Here the chunks of every run of a pass are read by ONE ``read_json``
over a list of files (``filename = true`` tells them apart) into the pass's raw table; the
write then inserts the metric points straight from it into ``metrics`` (no other copy).
Only the few other events (status, params, tags...) become Python dicts, for the same code
that applies them on the slow path.

This path takes the common shape only. Whenever a chunk holds anything unusual (a line
that is not valid JSON, a value that is not a number, a null, a true or false in a metrics
line, a seq or step that is not a plain integer, an infinite time, seqs out of order, a
surrogate escape), its result is None and the caller reads that chunk line by line, which
decides what to apply and what to quarantine. Both paths give the same rows. The checks run
in DuckDB, in one aggregate over the raw table (a window only for a file whose seqs skip):
seq and step are read as JSON text, so DuckDB tells a ``7`` from a ``7.5``, a ``"7"`` or a
``true`` (its typed reader would round or convert those). Only surrogate escapes and
booleans in metric lines are looked for in the bytes (DuckDB reads neither as Python does).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import duckdb

#: Chunks smaller than this go line by line (a scan of its own costs ~1-2 ms).
MIN_BYTES = 256 * 1024
#: The temporary table that holds the parsed chunks of one ingestion pass.
RAW_TABLE = "_trackrun_raw"
_RAW_SCHEMA = (
    f"CREATE TEMP TABLE IF NOT EXISTS {RAW_TABLE} (file VARCHAR, seq BIGINT, type VARCHAR, "
    '"time" DOUBLE, step BIGINT, "values" MAP(VARCHAR, DOUBLE))'
)
#: Per metrics line of the raw table, one row per point (file, seq, step, time, key, value).
_RAW_POINTS = (
    f'SELECT file, seq, step, time, unnest(map_keys("values")) AS key, '
    f"unnest(map_values(\"values\")) AS value FROM {RAW_TABLE} WHERE type = 'metrics'"
)
#: The connections whose pass created the raw table (weakly: ids of dead ones are reused).
_raw_made: weakref.WeakSet[Any] = weakref.WeakSet()

#: Names the temporary copies uniquely within the process (the raw table outlives a call).
_serial = itertools.count()
#: What DuckDB reads as a pattern in a file name (matching other files too).
_PATTERN = re.compile(r"[*?\[\]{}]")
_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_BOOLEAN = re.compile(rb"\btrue\b|\bfalse\b")
_NUMBER = "('UBIGINT', 'BIGINT', 'DOUBLE')"
# seq and step must be JSON integers 0 <= n < 2**63 (Python refuses 7.5, "7" and true, which
# the typed reader would take). A time that is not a JSON number is no time, as in Python;
# an infinite one (an integer no double holds, which Python drops) goes the slow way.
_COLUMNS = (
    "SELECT filename AS file, TRY_CAST(CASE WHEN json_type(seq) = 'UBIGINT' THEN seq::VARCHAR "
    'END AS BIGINT) AS seq, type, CASE WHEN json_type("time") IN {number} THEN '
    'TRY_CAST("time"::VARCHAR AS DOUBLE) END AS "time", '
    "CASE WHEN type = 'metrics' THEN TRY_CAST(CASE WHEN json_type(step) = 'UBIGINT' THEN "
    'step::VARCHAR END AS BIGINT) END AS step, {values} AS "values" '
    "FROM read_json({files}, format = 'newline_delimited', filename = true, columns = "
    "{{seq: 'JSON', type: 'VARCHAR', time: 'JSON', step: 'JSON', \"values\": '{kind}'}})"
)
#: Values as a map directly: the fastest, when only metric events hold any.
_AS_MAP = ('"values"', "MAP(VARCHAR, DOUBLE)")
#: Another event's values are not numbers (a params event): the map of the metric ones.
_AS_JSON = (
    "CASE WHEN type = 'metrics' THEN json_transform(\"values\", '\"MAP(VARCHAR, DOUBLE)\"') END",
    "JSON",
)


#: (key, last, min, max, count, last_step) of a key's new points.
SummaryRow = tuple[str, float, float | None, float | None, int, int]


class Chunk:
    """New complete lines of one event file, a candidate for the native reader."""

    __slots__ = ("data", "last_seq", "path", "run_id", "whole")

    def __init__(
        self, data: bytes, last_seq: int, path: Path, whole: bool, run_id: str = ""
    ) -> None:
        self.data = data
        self.last_seq = last_seq
        #: The event file; when ``whole`` (read from byte 0 to its end), DuckDB reads it
        #: directly, otherwise a private temporary copy of ``data``.
        self.path = path
        self.whole = whole
        #: The run of the event file ("" when not known: its points are then joined to
        #: their run by ``file`` when written).
        self.run_id = run_id


class Points:
    """What a chunk held, besides its metric points, which stay in the raw table."""

    __slots__ = ("count", "key_steps", "last_seq", "max_time", "others", "source", "summary")

    def __init__(self, source: str) -> None:
        #: The chunk's ``file`` in the raw table.
        self.source = source
        self.count = 0
        #: Per key: (first step, last step, steps strictly increasing) of its new points.
        self.key_steps: dict[str, tuple[int, int, bool]] = {}
        #: Per key, its new points' metric_summary columns (key, last, min, max, count,
        #: last_step): what the write folds in when these are all the run's new points.
        self.summary: list[SummaryRow] = []
        #: The other events (not metrics), in file order.
        self.others: list[dict[str, Any]] = []
        self.last_seq = 0
        self.max_time: float | None = None


def read_chunks(con: Any, chunks: list[Chunk]) -> list[Points | None]:
    """Parse ``chunks`` (complete lines, each ending in a newline) into the raw table, in
    one scan; the i-th result describes the i-th chunk.

    A chunk applies only when every seq is above its ``last_seq`` and the one before it.
    A None result means the chunk is not of the common shape and is not in the raw table.
    Raises only what DuckDB raises for the index itself or the disk (not for the content).
    """
    results: list[Points | None] = [None] * len(chunks)
    common = [i for i, c in enumerate(chunks) if plain(c.data)]
    if not common:
        return results
    folder: str | None = None
    try:
        sources: dict[str, int] = {}
        for i in common:
            chunk = chunks[i]
            if chunk.whole and not _PATTERN.search(str(chunk.path)):
                path = str(chunk.path)
            else:
                if folder is None:
                    folder = tempfile.mkdtemp(prefix="trackrun-chunks-")
                path = os.path.join(folder, f"{next(_serial)}.jsonl")
                try:
                    with open(path, "wb") as f:
                        f.write(chunk.data)
                except OSError:
                    continue  # no room for the copy: the line-by-line reader needs none
                if _PATTERN.search(path):
                    continue  # (a temporary folder DuckDB would read as a pattern)
            sources[path] = i
        con.execute(_RAW_SCHEMA)
        _raw_made.add(con)
        # This call's rows are those after the last one now (rowids grow as rows are added).
        after = con.execute(f"SELECT coalesce(max(rowid), -1) FROM {RAW_TABLE}").fetchone()[0]
        loaded = _load(con, list(sources))
        checked = _check(con, {s: chunks[sources[s]] for s in loaded}, after)
        for source, points in checked.items():
            results[sources[source]] = points
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def has_surrogate(data: bytes) -> bool:
    """Whether ``data`` holds a JSON escape of a UTF-16 surrogate (text DuckDB cannot store)."""
    return _SURROGATE.search(data) is not None


def plain(data: bytes) -> bool:
    """False when the bytes hold what only the line-by-line reader judges right: a
    surrogate escape (text DuckDB cannot store), or a true or false in a metrics line."""
    if b"\\" in data and _SURROGATE.search(data) is not None:
        return False
    if b"true" not in data and b"false" not in data:
        return True
    for match in _BOOLEAN.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        if b'"metrics"' in data[start : end if end >= 0 else len(data)]:
            return False
    return True


def _load(con: Any, sources: list[str]) -> list[str]:
    """Read ``sources`` into the raw table (after what earlier groups of the pass put there),
    in one scan when they all parse; returns the sources loaded (a file DuckDB refuses is
    left out)."""
    if not sources:
        return []
    try:
        _read(con, sources)
        return sources
    except duckdb.Error as error:
        _reraise_if_not_content(error, sources)
    # One file spoiled the scan (which added nothing): read each alone, keeping the good.
    loaded: list[str] = []
    for source in sources:
        try:
            _read(con, [source])
        except duckdb.Error as error:
            _reraise_if_not_content(error, [source])
            continue
        loaded.append(source)
    return loaded


def _read(con: Any, sources: list[str]) -> None:
    files = "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in sources) + "]"
    into = f"INSERT INTO {RAW_TABLE} "
    try:
        values, kind = _AS_MAP
        con.execute(into + _COLUMNS.format(number=_NUMBER, files=files, values=values, kind=kind))
    except duckdb.InvalidInputException:
        values, kind = _AS_JSON
        con.execute(into + _COLUMNS.format(number=_NUMBER, files=files, values=values, kind=kind))


def _reraise_if_not_content(error: duckdb.Error, sources: list[str]) -> None:
    if isinstance(error, (duckdb.IOException, duckdb.FatalException)) and not any(
        s in str(error) for s in sources
    ):
        raise error  # the index or the disk, not a chunk


#: Per file of the rows a call added (rowid > $after): lines, whether one breaks the common
#: shape, the first and last seq, the newest time, whether seqs go up by one line by line
#: (then they rise), whether metric steps keep step in lockstep with seq (then they rise
#: too), the file's first rowid, and the rowid and seq of each event that is not metrics.
_FILE_CHECK = (
    "SELECT file, count(*), bool_or(seq IS NULL OR isinf(\"time\") OR (type = 'metrics' AND "
    '(step IS NULL OR "values" IS NULL))), '
    'min(seq), max(seq), max("time"), min(seq - rowid) = max(seq - rowid), '
    "min(step - seq) = max(step - seq), min(rowid), list([rowid, seq]) FILTER (WHERE type IS "
    f"DISTINCT FROM 'metrics') FROM {RAW_TABLE} WHERE rowid > $after GROUP BY file"
)
#: For files whose seqs skip: whether one is not above the one before it.
_ORDER_CHECK = (
    "SELECT file, bool_or(seq <= prev) FROM (SELECT file, seq, lag(seq) OVER (PARTITION BY "
    f"file ORDER BY rowid) AS prev FROM {RAW_TABLE} WHERE rowid > $after AND file IN "
    "(SELECT unnest($files::VARCHAR[]))) GROUP BY file"
)
#: Per file and key of the points a call added: first and last step, count, whether the
#: steps are all distinct (known for files in lockstep), and whether a value is NULL or
#: infinite (a null, which Python refuses; a giant integer, which it refuses too; or
#: "Infinity", which it takes: the slow path decides).
_KEY_CHECK = (
    "SELECT file, key, min(step), max(step), count(*), {distinct}, "
    "bool_or(value IS NULL OR isinf(value)), arg_max(value, step), "
    "min(value) FILTER (WHERE NOT isnan(value)), max(value) FILTER (WHERE NOT isnan(value)) "
    "FROM (SELECT file, step, "
    'unnest(map_keys("values")) AS key, unnest(map_values("values")) AS value FROM '
    f"{RAW_TABLE} WHERE rowid > $after AND type = 'metrics' AND file IN "
    "(SELECT unnest($files::VARCHAR[]))) GROUP BY file, key"
)


def _check(con: Any, chunks: dict[str, Chunk], after: int) -> dict[str, Points]:
    """The chunks (rows after rowid ``after`` of the raw table) that are of the common
    shape, as Points; the others' rows are deleted from it."""
    if not chunks:
        return {}
    good: dict[str, Points] = {}
    skipping: list[str] = []
    lockstep: dict[bool, list[str]] = {True: [], False: []}
    rows_of = con.execute(_FILE_CHECK, {"after": after}).fetchall()
    for file, rows, broken, first, top, max_time, consecutive, steady, start, others in rows_of:
        chunk = chunks.get(file)
        if chunk is None or broken or first <= chunk.last_seq:
            continue
        lines = chunk.data.count(b"\n")
        if rows != lines:
            continue  # DuckDB skipped or joined lines (a blank one): the slow path decides
        out = Points(file)
        out.last_seq = int(top)
        out.max_time = None if max_time is None else float(max_time)
        if others and not other_events(chunk.data, lines, sorted(others), start, out):
            continue
        good[file] = out
        if not consecutive:
            skipping.append(file)
        lockstep[bool(consecutive and steady)].append(file)
    if skipping:
        for file, backwards in con.execute(
            _ORDER_CHECK, {"after": after, "files": skipping}
        ).fetchall():
            if backwards:
                del good[file]
    for steady, files in lockstep.items():
        files = [f for f in files if f in good]
        if not files:
            continue
        # Steps in lockstep with rising seqs rise too; otherwise they must at least be
        # distinct: then those above every step a key had before do not overlap it, and
        # anything else (a step again) is treated as re-logged, which gives the same rows.
        query = _KEY_CHECK.format(distinct="true" if steady else "count(DISTINCT step) = count(*)")
        for file, key, low, high, count, distinct, odd, last, least, most in con.execute(
            query, {"after": after, "files": files}
        ).fetchall():
            found = good.get(file)
            if found is None:
                continue
            if odd:
                del good[file]
                continue
            found.key_steps[key] = (int(low), int(high), bool(distinct))
            found.summary.append((key, last, least, most, int(count), int(high)))
            found.count += int(count)
    dropped = [f for f in chunks if f not in good]
    if dropped:
        con.execute(
            f"DELETE FROM {RAW_TABLE} WHERE file IN (SELECT unnest($files::VARCHAR[]))",
            {"files": dropped},
        )
    return good


def other_events(data: bytes, total: int, others: list[list[int]], start: int, out: Points) -> bool:
    """Parse the chunk's events that are not metrics (each [rowid, seq] as DuckDB read it:
    line rowid - ``start`` of ``data``) into ``out.others``; False when a line is not the
    event DuckDB read there."""
    numbers = [rowid - start for rowid, _ in others]
    if len(numbers) > 16:
        wanted = set(numbers)
        starts, position = [], 0
        for number, line in enumerate(data.split(b"\n")):
            if number in wanted:
                starts.append(position)
            position += len(line) + 1
    else:
        starts = _line_starts(data, total, numbers)
    try:
        for begin, (_, seq) in zip(starts, others, strict=True):
            line = data[begin : data.index(b"\n", begin)]
            if b'"metrics"' in line:
                return False  # it names metrics: let the line-by-line reader judge it
            event = json.loads(line)
            if type(event) is not dict or event.get("seq") != seq:
                return False
            out.others.append(event)
    except ValueError:
        return False
    return True


def _line_starts(data: bytes, total: int, numbers: list[int]) -> list[int]:
    """Byte offsets where lines ``numbers`` start: walked from the nearer end of ``data``
    (other events are few, mostly the first and last lines of a chunk)."""
    starts: list[int] = []
    position, line = 0, 0
    for number in numbers:
        if number - line <= total - number:
            while line < number:
                position = data.index(b"\n", position) + 1
                line += 1
        else:
            position, line = len(data), total
            while line > number:
                position = data.rindex(b"\n", 0, position - 1) + 1 if line > 1 else 0
                line -= 1
        starts.append(position)
    return starts


def raw_points(con: Any, more: list[str]) -> str:
    """A subquery of the points this pass read natively (file, seq, step, time, key,
    value): the raw table's, if this pass made one, and those of the SELECTs ``more``."""
    parts = ([_RAW_POINTS] if con in _raw_made else []) + more
    if not parts:
        return (
            '(SELECT NULL::VARCHAR AS file, 0 AS seq, 0 AS step, 0.0 AS "time", '
            "NULL::VARCHAR AS key, 0.0 AS value WHERE false)"
        )
    return "(" + " UNION ALL ".join(parts) + ")"


def has_raw(con: Any) -> bool:
    """Whether this pass read chunks into the raw table."""
    return con in _raw_made


def drop_raw(con: Any) -> None:
    """Drop the pass's raw table, if any (at the end of every pass, written or not)."""
    _raw_made.discard(con)
    con.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
