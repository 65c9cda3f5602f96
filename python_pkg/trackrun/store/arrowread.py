"""Reading the chunks of a pass with pyarrow's JSON reader, where pyarrow is loaded: one parse for all.

pyarrow parses newline-delimited JSON about twice as fast as DuckDB's ``read_json`` on the
same bytes, but importing it (with numpy) and starting its thread pool costs ~60-150 ms: more
than it saves on one first look. So this reader serves processes that ingest again and
again (the Jupyter server, a live view, a notebook polling its runs): it is used once
pyarrow is loaded, by the user's code, or from the second pass of a process that read a
large chunk natively (that pass imports it). A fresh process's first look uses DuckDB's.

Every chunk of a pass is parsed in ONE ``read_json`` of their concatenated bytes; the checks
run in numpy over the columns; each chunk's metric points become rows of an Arrow table
(file, seq, step, time, key, value) that DuckDB scans in place when the write inserts them
(registered as a view for the pass; no copy into a temporary table).

The same common shape as :mod:`trackrun.store.fastread` only: a chunk whose lines do not all
start with ``{"seq": `` (as every writer of trackrun writes them), that holds a ``null``,
a surrogate escape or a boolean in a metrics line, a seq or step that is not a plain
integer, seqs that do not rise, a value that is not a finite number, is left out (None) and
read by the other paths, exactly as without this reader. If pyarrow refuses the joined
bytes (one odd chunk), no chunk is taken from this reader.
"""

from __future__ import annotations

import io
import itertools
import os
import sys
import weakref
from typing import Any

from trackrun.store import fastread

#: Below this many new bytes in a pass, the other paths are as fast (pyarrow's fixed costs;
#: measured: 200 runs of 1 KB each take the same time either way).
MIN_PASS_BYTES = 256 * 1024
_LINE_START = b'{"seq": '
_serial = itertools.count()
#: Views of points of a chunk whose run was not given (see :func:`run_points_sql`).
_anonymous: set[str] = set()
#: Per connection (weakly: ids of dead ones are reused), the views this pass registered.
_views: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()
#: Non-empty once this process read a large chunk natively (see :func:`enabled`).
_large_seen: list[bool] = []


def available() -> bool:
    """True when pyarrow's JSON reader and numpy are loaded (importing them is not free)."""
    return "pyarrow.json" in sys.modules and "numpy" in sys.modules


def enabled() -> bool:
    """Whether this pass may use this reader: pyarrow is loaded, or this process already
    read a large chunk (a process that ingests: it pays the import once, on this pass).
    ``TRACKRUN_ARROW_READER=0`` turns it off (the other paths give the same rows)."""
    if os.environ.get("TRACKRUN_ARROW_READER") == "0":
        return False
    if available():
        return True
    if not _large_seen:
        return False
    try:
        import numpy  # noqa: F401
        import pyarrow.json  # noqa: F401
    except ImportError:  # (a dependency; a broken install keeps the other paths)
        _large_seen.clear()
        return False
    return True


def note_large() -> None:
    """Note that this process read a large chunk with DuckDB's reader."""
    _large_seen.append(True)


def views_sql(con: Any) -> list[str]:
    """SELECTs of the points this reader added to the pass (file, seq, step, time, key,
    value), one per registered view."""
    return [
        f'SELECT file::VARCHAR AS file, seq, step, "time", key::VARCHAR AS key, value FROM {name}'
        for name in _views.get(con, [])
    ]


def run_points_sql(con: Any) -> str | None:
    """A SELECT of the points this reader added to the pass as rows of ``metrics`` (run_id,
    key, step, value, wall_time), or None when a chunk's run was not given."""
    names = _views.get(con, [])
    if not names or any(name in _anonymous for name in names):
        return None
    return " UNION ALL ".join(
        f'SELECT run_id::VARCHAR AS run_id, key::VARCHAR AS key, step, value, "time" AS '
        f"wall_time FROM {name}"
        for name in names
    )


def drop_views(con: Any) -> None:
    """Unregister this pass's views (at the end of every pass, written or not)."""
    for name in _views.pop(con, []):
        _anonymous.discard(name)
        con.unregister(name)


def fits(data: bytes) -> int:
    """The number of lines of ``data`` (complete lines) when it may be of the common shape
    this reader takes, else 0."""
    if not data.startswith(_LINE_START) or b"null" in data:
        return 0  # (a null value reads as a missing key: Python refuses it, so look closer)
    if b"\\" in data and fastread.has_surrogate(data):
        return 0
    lines = data.count(b"\n")
    # Every line starts with {"seq": and holds no other object that does (the text cannot
    # occur inside a JSON string, whose quotes are escaped): each row is its line. (No
    # scan for booleans: as a metric value one makes a column that is not numeric, or a
    # type change pyarrow refuses.)
    starts = data.count(b"\n" + _LINE_START)
    return lines if starts == lines - 1 and data.count(_LINE_START) == lines else 0


def read_chunks(con: Any, chunks: list[fastread.Chunk]) -> list[fastread.Points | None]:
    """Parse ``chunks`` (complete lines, each ending in a newline) in one pyarrow read; the
    i-th result describes the i-th chunk (None: not taken, read it another way).

    A chunk applies only when every seq is above its ``last_seq`` and the one before it.
    Never raises for the content of the chunks.
    """
    results: list[fastread.Points | None] = [None] * len(chunks)
    counts = [fits(c.data) for c in chunks]
    taken = [i for i, n in enumerate(counts) if n]
    if not taken:
        return results
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    lines = np.array([counts[i] for i in taken], dtype=np.int64)
    try:
        table = pj.read_json(
            io.BytesIO(b"".join(chunks[i].data for i in taken)),
            parse_options=pj.ParseOptions(
                explicit_schema=_schema(pa), unexpected_field_behavior="infer"
            ),
        )
    except Exception:  # noqa: BLE001 - any refusal (bad JSON, a type change, bad UTF-8)
        return results
    if table.num_rows != int(lines.sum()) or "values" not in table.column_names:
        return results
    parsed = _Columns(np, pa, table, lines)
    sources = [f"_trackrun_arrow_{next(_serial)}" for _ in taken]
    good = parsed.good_chunks([chunks[i].last_seq for i in taken])
    out: dict[int, fastread.Points] = {}
    for k in np.flatnonzero(good).tolist():
        chunk = chunks[taken[k]]
        points = fastread.Points(sources[k])
        start, end = int(parsed.starts[k]), int(parsed.starts[k] + lines[k])
        points.last_seq = int(parsed.seq[end - 1])
        top = parsed.max_time[k]
        points.max_time = None if np.isnan(top) else float(top)
        others = [
            [row - start, int(parsed.seq[row])]
            for row in (np.flatnonzero(~parsed.metric[start:end]) + start).tolist()
        ]
        if others and not fastread.other_events(chunk.data, int(lines[k]), others, 0, points):
            good[k] = False
            continue
        out[k] = points
    if not out:
        return results
    runs = [chunks[i].run_id for i in taken]
    table = parsed.points(out, sources, runs)
    name = f"_trackrun_arrow_view_{next(_serial)}"
    if not all(runs[k] for k in out):
        _anonymous.add(name)
    con.register(name, table)
    _views.setdefault(con, []).append(name)
    for k, points in out.items():
        results[taken[k]] = points
    return results


def _schema(pa: Any) -> Any:
    # seq and step as int64: pyarrow refuses a 7.5, "7", true or 2**64 there (the chunk
    # then goes another way); time as a double takes an integer too, as Python does.
    return pa.schema(
        [("seq", pa.int64()), ("type", pa.string()), ("time", pa.float64()), ("step", pa.int64())]
    )


class _Columns:
    """The parsed columns of the joined chunks, as numpy arrays, with per-chunk checks."""

    def __init__(self, np: Any, pa: Any, table: Any, lines: Any) -> None:
        self.np, self.pa = np, pa
        self.lines = lines
        self.starts = np.concatenate(([0], np.cumsum(lines)[:-1]))
        self.rows = int(lines.sum())
        self.chunk_of = np.repeat(np.arange(len(lines)), lines)
        # Read through the Arrow buffers with numpy: pyarrow.compute (fill_null, cast,
        # is_valid) would be imported on first use, which costs more than this whole read.
        self.seq, seq_ok = self._numbers(table.column("seq").combine_chunks(), np.int64, 0)
        self.step, step_ok = self._numbers(table.column("step").combine_chunks(), np.int64, 0)
        self.time, self.time_ok = self._numbers(
            table.column("time").combine_chunks(), np.float64, np.nan
        )
        self.metric = self._is_metrics(table.column("type").combine_chunks())
        values = table.column("values").combine_chunks()
        broken = ~seq_ok | (self.time_ok & ~np.isfinite(self.time))
        broken |= self.metric & (~step_ok | (self.step < 0) | ~self._valid(values))
        #: Per key: (rows that hold a point of it, their values).
        self.keys: dict[str, tuple[Any, Any]] = {}
        for index, field in enumerate(values.type):
            column = values.field(index)
            if pa.types.is_null(field.type):
                continue  # (only nulls, which no chunk taken holds)
            present = self.metric & self._valid(column)
            if not present.any():
                continue
            if field.type == pa.float64():
                numbers, _ = self._numbers(column, np.float64, np.nan)
            elif field.type == pa.int64():
                numbers = self._numbers(column, np.int64, 0)[0].astype(np.float64)
            else:
                broken |= present  # text, a boolean, a list, an object as a metric value
                continue
            broken |= present & np.isinf(numbers)
            self.keys[field.name] = (present, numbers)
        self.broken = broken

    def _valid(self, array: Any) -> Any:
        """Per row of ``array``: whether it is not null (from its validity bitmap)."""
        np = self.np
        bitmap = array.buffers()[0]
        if bitmap is None or array.null_count == 0:
            return np.ones(len(array), dtype=bool)
        bits = np.unpackbits(
            np.frombuffer(bitmap, dtype=np.uint8),
            count=array.offset + len(array),
            bitorder="little",
        )
        return bits[array.offset :].astype(bool)

    def _numbers(self, array: Any, dtype: Any, fill: Any) -> tuple[Any, Any]:
        """``array`` (of ``dtype``) as numpy, nulls as ``fill``, and where it is not null."""
        np = self.np
        data = np.frombuffer(array.buffers()[1], dtype=dtype, count=array.offset + len(array))
        valid = self._valid(array)
        return np.where(valid, data[array.offset :], fill), valid

    def _is_metrics(self, array: Any) -> Any:
        """Per row: whether ``type`` (a string array) is "metrics"."""
        np = self.np
        word = np.frombuffer(b"metrics", dtype=np.uint8)
        offsets = np.frombuffer(
            array.buffers()[1], dtype=np.int32, count=array.offset + len(array) + 1
        )
        offsets = offsets[array.offset :]
        starts = offsets[:-1].astype(np.int64)
        match = (offsets[1:] - offsets[:-1]) == len(word)
        if array.buffers()[2] is None or not match.any():
            return match & False
        data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
        rows = np.flatnonzero(match)
        for position, byte in enumerate(word.tolist()):  # (each look among the survivors)
            rows = rows[data[starts[rows] + position] == byte]
        found = np.zeros(len(array), dtype=bool)
        found[rows] = True
        return found & self._valid(array)

    def _per_chunk(self, ufunc: Any, values: Any) -> Any:
        return ufunc.reduceat(values, self.starts)

    def good_chunks(self, last_seqs: list[int]) -> Any:
        """Per chunk: nothing broken, seqs above its last seq and rising line by line."""
        np = self.np
        falling = np.zeros(self.rows, dtype=bool)
        falling[:-1] = self.seq[1:] <= self.seq[:-1]
        falling[self.starts[1:] - 1] = False  # (across two chunks)
        bad = self._per_chunk(np.logical_or, self.broken | falling)
        first = self.seq[self.starts]
        times = np.where(self.time_ok, self.time, -np.inf)
        top = self._per_chunk(np.maximum, times)
        self.max_time = np.where(np.isneginf(top), np.nan, top)
        return ~bad & (first > np.array(last_seqs, dtype=np.int64))

    def points(self, out: dict[int, fastread.Points], sources: list[str], runs: list[str]) -> Any:
        """The points of the chunks in ``out`` as an Arrow table, and each chunk's key steps
        and summary rows filled in."""
        np, pa = self.np, self.pa
        wanted = np.zeros(len(self.lines), dtype=bool)
        wanted[list(out)] = True
        take_row = wanted[self.chunk_of]
        parts: list[Any] = []
        names = list(self.keys)
        for number, key in enumerate(names):
            present, numbers = self.keys[key]
            rows = np.flatnonzero(present & take_row)
            if not len(rows):
                continue
            chunk = self.chunk_of[rows]
            steps = self.step[rows]
            values = numbers[rows]
            self._summarise(key, chunk, steps, values, out)
            keys = np.full(len(rows), number, dtype=np.int32)
            parts.append((rows, chunk, keys, steps, values))
        empty = np.zeros(0, dtype=np.int64)  # (no point: every key null or absent)
        rows, chunk, keys, steps = (
            np.concatenate([p[i] for p in parts]) if parts else empty for i in range(4)
        )
        values = np.concatenate([p[4] for p in parts]) if parts else np.zeros(0)
        # Arrays built from their buffers: pa.array() would import pandas and
        # pyarrow.compute (~100 ms and more on the first pass that gets here).
        chunk = self._array(pa.int32(), chunk.astype(np.int32))
        time_ok = self.time_ok[rows]
        return pa.table(
            {
                "file": pa.DictionaryArray.from_arrays(chunk, self._strings(sources)),
                "run_id": pa.DictionaryArray.from_arrays(chunk, self._strings(runs)),
                "seq": self._array(pa.int64(), self.seq[rows]),
                "step": self._array(pa.int64(), steps),
                "time": self._array(
                    pa.float64(), self.time[rows], None if time_ok.all() else time_ok
                ),
                "key": pa.DictionaryArray.from_arrays(
                    self._array(pa.int32(), keys.astype(np.int32)), self._strings(names)
                ),
                "value": self._array(pa.float64(), values),
            }
        )

    def _array(self, kind: Any, values: Any, valid: Any = None) -> Any:
        """An Arrow array of ``kind`` over numpy ``values`` (null where not ``valid``)."""
        np, pa = self.np, self.pa
        data = pa.py_buffer(np.ascontiguousarray(values))
        bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(kind, len(values), [bitmap, data])

    def _strings(self, texts: list[str]) -> Any:
        np, pa = self.np, self.pa
        encoded = [text.encode() for text in texts]
        offsets = np.cumsum([0] + [len(e) for e in encoded], dtype=np.int32)
        return pa.StringArray.from_buffers(
            len(texts), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
        )

    def _summarise(
        self, key: str, chunk: Any, steps: Any, values: Any, out: dict[int, fastread.Points]
    ) -> None:
        """Each chunk's (first, last, distinct) steps and summary row of ``key``'s points
        (rows grouped by chunk, in file order)."""
        np = self.np
        starts = np.flatnonzero(np.concatenate(([True], chunk[1:] != chunk[:-1])))
        ends = np.append(starts[1:], len(chunk))
        low = np.minimum.reduceat(steps, starts)
        high = np.maximum.reduceat(steps, starts)
        rising = np.ones(len(steps), dtype=bool)
        rising[1:] = steps[1:] > steps[:-1]
        rising[starts] = True
        increasing = np.logical_and.reduceat(rising, starts)
        least = np.fmin.reduceat(values, starts)
        most = np.fmax.reduceat(values, starts)
        for g, (begin, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            points = out[int(chunk[begin])]
            if increasing[g]:
                distinct, last = True, values[end - 1]
            else:
                group = steps[begin:end]
                distinct = len(np.unique(group)) == end - begin
                last = values[begin + int(np.argmax(group))]
            count = end - begin
            points.key_steps[key] = (int(low[g]), int(high[g]), distinct)
            points.summary.append(
                (
                    key,
                    float(last),
                    None if np.isnan(least[g]) else float(least[g]),
                    None if np.isnan(most[g]) else float(most[g]),
                    count,
                    int(high[g]),
                )
            )
            points.count += count
