"""Reading a large chunk of events with DuckDB's native JSON reader, straight into a table.

A training run appends tens of thousands of metric lines between two looks; parsing them
with Python's ``json`` and walking them in Python cost ~5x what DuckDB's own ``read_json``
needs for the same file. Here the chunk is written to a private temporary file, read by
``read_json`` (C++, threaded, no Python object per point), and its metric points are
unnested into the pass's points table inside DuckDB. Only the few other events (status,
params, tags...) become Python dicts, for the same code that applies them on the slow path.

This path takes the common shape only. Whenever a chunk holds anything unusual (a line
that is not valid JSON, a value that is not a number, a null, a true or false, a step that is
not a non-negative integer, seqs out of order, a duplicated key, a surrogate escape),
``parse`` returns None and the caller reads the chunk line by line, which decides what to
apply and what to quarantine. Both paths give the same rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from typing import Any

import duckdb

#: Chunks smaller than this go line by line (a temporary file and a scan cost ~2 ms).
MIN_BYTES = 256 * 1024
#: The temporary table that collects the points of one ingestion pass.
POINTS_TABLE = "_trackrun_points"
POINTS_SCHEMA = (
    f"CREATE TEMP TABLE IF NOT EXISTS {POINTS_TABLE} "
    "(run_id VARCHAR, key VARCHAR, step BIGINT, value DOUBLE, wall_time DOUBLE, ord BIGINT)"
)

_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F]")
# JSON literals DuckDB would turn into numbers where Python refuses the event (a null
# becomes a NULL and an integer too long for a double an infinity: the SQL checks catch those).
_SUSPECT = re.compile(rb"\btrue\b|\bfalse\b")
# A seq or step that is not an integer, or a time that is not a number: DuckDB's typed
# reader would round or convert them where Python refuses them (a key named so inside
# "values" also matches: that chunk just goes the slow way).
_NOT_INTEGER = re.compile(
    rb'"(?:seq|step)"\s*:\s*(?:[^0-9\s-]|-?[0-9]+[.eE])|"time"\s*:\s*[^0-9\s-]'
)
#: Per key of a chunk's points: true if one is NULL or infinite.
_ODD = "bool_or(value IS NULL OR isinf(value))"


class Points:
    """What a chunk held, besides the points it added to the points table."""

    __slots__ = ("count", "key_steps", "last_seq", "max_time", "others")

    def __init__(self) -> None:
        self.count = 0
        #: Per key: (first step, last step, steps strictly increasing) of its new points.
        self.key_steps: dict[str, tuple[int, int, bool]] = {}
        #: The other events (not metrics), in file order.
        self.others: list[dict[str, Any]] = []
        self.last_seq = 0
        self.max_time: float | None = None


def parse(con: Any, data: bytes, last_seq: int, run_id: str, ord_base: int) -> Points | None:
    """Read the complete lines ``data`` (ending in a newline) of one event file of ``run_id``;
    add its metric points to the points table (``ord`` from ``ord_base``, in seq order).

    Applies only when every seq is above ``last_seq`` and the one before it. Returns None,
    having added nothing, when the chunk is not of the common shape. Raises only what
    DuckDB raises for the index itself (not for the content).
    """
    if (
        _SURROGATE.search(data) is not None
        or _NOT_INTEGER.search(data) is not None
        or _suspect_metric_line(data)
    ):
        return None
    try:
        fd, path = tempfile.mkstemp(prefix="trackrun-chunk-", suffix=".jsonl")
    except OSError:
        return None  # no room for the temporary copy: the line-by-line reader needs none
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError:
            return None
        return _read(con, path, data, last_seq, run_id, ord_base)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _read(
    con: Any, path: str, data: bytes, last_seq: int, run_id: str, ord_base: int
) -> Points | None:
    quoted = path.replace("'", "''")
    raw = f"{POINTS_TABLE}_raw"
    added = False
    try:
        _read_raw(con, raw, quoted)
        rows, others, bad, top, max_time, increasing = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE type IS DISTINCT FROM 'metrics'), "
            "count(*) FILTER (WHERE seq IS NULL OR seq <= prev OR (type = 'metrics' AND "
            '(step IS NULL OR step < 0 OR "values" IS NULL))), max(seq), max(time), '
            "bool_and(step > prev_step) FILTER (WHERE type = 'metrics') FROM (SELECT *, "
            "lag(seq, 1, ?) OVER (ORDER BY rowid) AS prev, max(step) OVER (ORDER BY rowid "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_step FROM {raw})",
            [last_seq],
        ).fetchone()
        if bad or rows != data.count(b"\n"):
            return None
        out = Points()
        out.last_seq = int(top)
        out.max_time = None if max_time is None else float(max_time)
        if others:
            lines = [line for line in data.split(b"\n") if line and b'"metrics"' not in line]
            if len(lines) != others:
                return None  # a line that is not metrics but names them: the slow path
            out.others = [json.loads(line) for line in lines]
        con.execute(POINTS_SCHEMA)
        added = True
        inserted = con.execute(
            f"INSERT INTO {POINTS_TABLE} SELECT ?, key, step, value, time, ? + seq FROM "
            f'(SELECT seq, step, time, unnest(map_keys("values")) AS key, '
            f"unnest(map_values(\"values\")) AS value FROM {raw} WHERE type = 'metrics')",
            [run_id, ord_base],
        ).fetchone()
        out.count = int(inserted[0]) if inserted else 0
        if increasing is not False:
            # Every metrics event's step is above all before it: so is each key's.
            summary = (
                f"SELECT key, min(step), max(step), true, {_ODD} FROM {POINTS_TABLE} "
                "WHERE run_id = ? AND ord > ? GROUP BY key"
            )
        else:
            summary = (
                f"SELECT key, arg_min(step, ord), max(step), bool_and(step > prev), {_ODD} "
                "FROM (SELECT key, step, value, ord, lag(step, 1, -1) OVER (PARTITION BY key "
                f"ORDER BY ord) AS prev FROM {POINTS_TABLE} WHERE run_id = ? AND ord > ?) "
                "GROUP BY key"
            )
        keys = con.execute(summary, [run_id, ord_base]).fetchall()
        if any(odd for *_, odd in keys):
            # A null (Python refuses the event) or an infinity (a giant integer, which
            # Python refuses, or "Infinity", which it takes): the slow path decides.
            con.execute(
                f"DELETE FROM {POINTS_TABLE} WHERE run_id = ? AND ord > ?", [run_id, ord_base]
            )
            return None
        for key, first, top_step, rising, _ in keys:
            out.key_steps[key] = (int(first), int(top_step), bool(rising))
        return out
    except duckdb.Error as error:
        if isinstance(error, (duckdb.IOException, duckdb.FatalException)) and path not in str(
            error
        ):
            raise  # the index or the disk, not this chunk
        if added:  # the slow path will add this chunk's points: none may stay twice
            con.execute(
                f"DELETE FROM {POINTS_TABLE} WHERE run_id = ? AND ord > ?", [run_id, ord_base]
            )
        return None
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {raw}")


def _read_raw(con: Any, raw: str, quoted: str) -> None:
    """Parse the chunk into the table ``raw`` (seq, type, time, step, values as a map)."""
    source = (
        f"read_json('{quoted}', format = 'newline_delimited', columns = {{seq: 'BIGINT', "
        "type: 'VARCHAR', time: 'DOUBLE', step: 'BIGINT', \"values\": 'KIND'})"
    )
    try:
        # Values read as a map directly: the fastest, when only metric events hold any.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * "
            f"FROM {source.replace('KIND', 'MAP(VARCHAR, DOUBLE)')}"
        )
    except duckdb.InvalidInputException:
        # Another event's values are not numbers (a params event): the map of metric ones.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT seq, type, time, step, "
            "CASE WHEN type = 'metrics' THEN json_transform(\"values\", "
            '\'"MAP(VARCHAR, DOUBLE)"\') END AS "values" '
            f"FROM {source.replace('KIND', 'JSON')}"
        )


def _suspect_metric_line(data: bytes) -> bool:
    """True when a metrics line holds a true or false."""
    if b"true" not in data and b"false" not in data:
        return False
    for match in _SUSPECT.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        if b'"metrics"' in data[start : end if end >= 0 else len(data)]:
            return True
    return False
