"""Applying events: status, params, tags and the rest to a run's row, metric points to a batch."""

from __future__ import annotations

import json
from typing import Any

from trackrun.layout import TERMINAL_STATUSES
from trackrun.store import fastread
from trackrun.store.batch import Batch
from trackrun.store.reader import BadLine
from trackrun.store.schema import RUN_FIELDS

#: Steps are 0 <= step < 2**63 (a BIGINT that is never negative).
MAX_STEP = 2**63


def row_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A new runs row (RUN_FIELDS) from a run.json record."""
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


def bad_event(event: dict[str, Any], reason: str) -> BadLine:
    """An event that cannot be applied, as a quarantined line."""
    try:
        text = json.dumps(event, ensure_ascii=False, default=str)
        text.encode()
    except (ValueError, UnicodeEncodeError):
        text = json.dumps(event, default=str)
    return BadLine(None, event.get("seq"), reason, text)


def apply_events(
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
    event_steps, event_times, event_sizes, event_ords = (
        metrics.event_steps,
        metrics.event_times,
        metrics.event_sizes,
        metrics.event_ords,
    )
    ord_ = metrics.next_ord
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
                batch.quarantine.append((run_id, file, bad_event(event, reason)))
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
            batch.quarantine.append((run_id, file, bad_event(event, reason)))
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
        event_ords.append(ord_)
        ord_ += 1
    metrics.next_ord = ord_
    row["last_event_at"] = last_event_at
    if overlapping:
        batch.overlapping.add(run_id)
    return last_seq


def apply_points(
    run_id: str,
    file: str,
    row: dict[str, Any],
    points: fastread.Points,
    last_seq: int,
    run_last: dict[str, int],
    batch: Batch,
) -> int:
    """Apply a chunk the native reader parsed; returns the new last seq (as _apply_events)."""
    apply_events(run_id, file, row, points.others, last_seq, run_last, batch)
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
    metrics.native.append((points.source, run_id, metrics.next_ord, points.count))
    metrics.native_summary.setdefault(run_id, []).extend(points.summary)
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


def tag_list(raw: Any) -> list[str]:
    """Tags as written (one string or a list), as a list of strings."""
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
        ops.append(("add", tag_list(event.get("add"))))
        ops.append(("remove", tag_list(event.get("remove"))))
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
    elif kind == "note":  # the newest note wins; an empty one clears it
        note = event.get("note")
        if not isinstance(note, str):
            raise TypeError(f"a note must be a string, not {note!r}")
        row["note"] = note or None
    elif kind == "notebook_moved":  # the notebook was renamed or moved in JupyterLab
        row["notebook"] = event.get("notebook") or row["notebook"]


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
