"""Writing one ingestion pass's rows into the index, in one transaction with the offsets."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from trackrun.store.batch import Batch
from trackrun.store.points import write_metrics
from trackrun.store.schema import RUN_COLUMNS, RUN_FIELDS
from trackrun.store.staging import SQL_TYPES, Columns, clean, insert, stage

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
        # A run new to the index has no rows yet (every write of a run writes its runs row).
        known = [r for r in touched if r not in batch.new_runs]
        if known:
            con.execute(f"DELETE FROM runs WHERE {_in_ids()}", {"ids": known})
        kinds = _RUN_KINDS
        columns = {
            f: (kinds[f], clean(kinds[f], [batch.rows[r].get(f) for r in touched]))
            for f in RUN_FIELDS
        }
        if touched:
            insert(con, "runs", columns)
        write_metrics(con, batch)
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
    if known:
        con.execute(f"DELETE FROM tags WHERE {_in_ids()}", {"ids": known})
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
        replace = values.pop("__all__", False)  # (popped whatever the run)
        if replace and run_id not in batch.new_runs:
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
