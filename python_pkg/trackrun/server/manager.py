"""The logic behind the REST API: answers as JSON-ready dicts, built on the Store."""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from trackrun.errors import RunStateError, TrackrunError
from trackrun.events import append_event, iter_events
from trackrun.ids import check_run_id, new_run_id
from trackrun.layout import ACTIVE_STATUSES, RunPaths, write_json_atomic
from trackrun.store import Store
from trackrun.table import Table, jsonable
from trackrun.values import normalize_params, normalize_tags

MAX_RUNS_PAGE = 10_000
DEFAULT_RUNS_PAGE = 200
MAX_LOG_BYTES = 4 * 1024 * 1024
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,200}$")


class FileNotInRunError(TrackrunError):
    """A requested file does not exist inside the run directory (or points outside it)."""

    code = "file_not_found"


class RunsManager:
    """Everything the handlers need, over one Store. Methods are blocking (call them from a
    worker thread) and return JSON-ready values (non-finite floats as strings)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- listing --------------------------------------------------------------------------
    def change_token(self) -> str:
        """A token that changes whenever anything visible in the store changes."""
        with self.store.connection() as con:
            row = con.execute(
                "SELECT count(*), max(last_event_at), max(status_at), "
                "(SELECT count(*) FROM tags) FROM runs"
            ).fetchone()
        return "-".join(str(v) for v in row)

    def list_runs(
        self, filter_text: str | None, order_by: str | None, limit: int | None, offset: int
    ) -> dict[str, Any]:
        limit = DEFAULT_RUNS_PAGE if limit is None else max(0, min(limit, MAX_RUNS_PAGE))
        offset = max(0, offset)
        table = self.store.runs(filter_text, order_by, limit, offset)
        total = len(table) + offset
        if len(table) == limit:
            total = self.store.count(filter_text)
        return {
            "runs": [run_row(row) for row in table],
            "total": total,
            "offset": offset,
            "limit": limit,
        }

    def running_counts(self) -> dict[str, int]:
        with self.store.connection() as con:
            rows = con.execute(
                "SELECT status, count(*) FROM runs WHERE status IN ('running', 'queued') GROUP BY status"
            ).fetchall()
        counts = dict(rows)
        return {"running": int(counts.get("running", 0)), "queued": int(counts.get("queued", 0))}

    # -- one run --------------------------------------------------------------------------
    def run_detail(self, run_id: str) -> dict[str, Any]:
        info = self.store.summary(check_run_id(run_id))
        paths = self.store.paths.run(run_id)
        record = _read_json(paths.run_json)
        detail: dict[str, Any] = {key: info.get(key) for key in _ROW_FIELDS}
        detail["tags"] = info["tags"]
        if detail["status"] == "running" and info.get("started_at"):
            detail["duration"] = time.time() - info["started_at"]
        detail.update(
            {
                key: info.get(key)
                for key in (
                    "host",
                    "pid",
                    "user",
                    "git_commit",
                    "git_branch",
                    "git_dirty",
                    "error",
                    "created_at",
                    "note",
                    "cell_id",
                )
            }
        )
        detail["params"] = info["params"]
        detail["metrics"] = info["metrics"]
        detail["artifacts"] = [
            {"name": a["name"], "size": a["size"], "sha256": a["sha256"]} for a in info["artifacts"]
        ]
        detail["code_files"] = sorted(p.name for p in _list_files(paths.code))
        detail["attempts"] = [
            {k: e.get(k) for k in ("attempt", "state", "exit_code", "time")}
            for e in iter_events(paths.events_of("supervisor"))
            if e.get("type") == "attempt"
        ]
        outputs = _read_json(paths.job / "outputs.json") if paths.job.is_dir() else {}
        detail["outputs"] = outputs or None
        provenance = record.get("provenance") or {}
        detail["provenance"] = {
            k: provenance.get(k) for k in ("git", "python", "hardware", "packages", "process")
        }
        detail["launch"] = record.get("launch") or {}
        return dict(jsonable(detail))

    def metric_series(self, run_id: str, keys: list[str] | None, max_points: int) -> dict[str, Any]:
        history = self.store.metrics([check_run_id(run_id)], keys, max_points=max_points)
        series: dict[str, dict[str, list[Any]]] = {}
        for key, step, value, wall in zip(
            history["key"], history["step"], history["value"], history["wall_time"], strict=True
        ):
            entry = series.setdefault(key, {"steps": [], "values": [], "wall_times": []})
            entry["steps"].append(step)
            entry["values"].append(value)
            entry["wall_times"].append(wall)
        return {"run_id": run_id, "series": jsonable(series)}

    def chart(self, run_ids: list[str], keys: list[str] | None, max_points: int) -> dict[str, Any]:
        from trackrun.charts import metric_curves

        ids = [check_run_id(r) for r in run_ids]
        history = self.store.metrics(ids, keys, max_points=max_points)
        names = {
            row["run_id"]: row["name"] for row in self.store.runs(_ids_filter(ids), limit=len(ids))
        }
        spec: dict[str, Any] = metric_curves(history, names, keys, max_points).to_dict()
        return spec

    def log_slice(self, run_id: str, offset: int, max_bytes: int) -> dict[str, Any]:
        """The log from ``offset`` (negative: from the end); reads only what it returns."""
        paths = self.store.paths.run(check_run_id(run_id))
        max_bytes = max(1, min(max_bytes, MAX_LOG_BYTES))
        status = self.store.summary(run_id)["status"]
        try:
            with open(paths.output_log, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                start = size + offset if offset < 0 else offset
                start = max(0, min(start, size))
                f.seek(start)
                data = f.read(max_bytes)
        except FileNotFoundError:
            size, start, data = 0, 0, b""
        skipped = 0
        if offset < 0:
            # Started inside a character: skip its continuation bytes.
            while skipped < len(data) and skipped < 4 and data[skipped] & 0xC0 == 0x80:
                skipped += 1
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(data[skipped:], final=False)
        pending = len(decoder.getstate()[0])
        consumed = len(data) - pending
        return {
            "text": text,
            "offset": start + skipped,
            "next_offset": start + consumed,
            "size": size,
            "live": status in ACTIVE_STATUSES,
            "status": status,
        }

    def run_file(self, run_id: str, folder: str, name: str) -> Path:
        """Path of ``<run>/<folder>/<name>``, refused unless it is a regular file inside it."""
        if not _FILE_NAME.match(name) or ".." in name:
            raise FileNotInRunError(f"no file {name!r} in this run")
        paths = self.store.paths.run(check_run_id(run_id))
        base = (paths.root / folder).resolve()
        target = (base / name).resolve()
        if target.parent != base or not target.is_file():
            raise FileNotInRunError(f"no file {name!r} in this run's {folder}/")
        return target

    # -- comparisons ----------------------------------------------------------------------
    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        from trackrun.codediff import diff
        from trackrun.comparison import compare

        ids = [check_run_id(r) for r in run_ids]
        if len(ids) < 2:
            raise TrackrunError("compare needs at least two run ids: ?ids=ID1,ID2")
        comparison = compare(ids, store=self.store)
        answer: dict[str, Any] = {
            "runs": [run_row(row) for row in self.store.runs(_ids_filter(ids), limit=len(ids))],
            "params_diff": _table(comparison.params_diff),
            "params_all": _table(comparison.params_all),
            "summary": _table(comparison.summary),
            "chart": comparison.chart.to_dict(),
            "code_diff": None,
            "packages": [],
        }
        code = diff(ids[0], ids[1], store=self.store)
        answer["code_diff"] = {"cell": code.cell, "notebook": code.notebook}
        answer["packages"] = [list(p) for p in code.packages]
        return dict(jsonable(answer))

    # -- changes --------------------------------------------------------------------------
    def kill(self, run_id: str) -> dict[str, Any]:
        from trackrun.api import kill

        kill(check_run_id(run_id), store=self.store)
        return {"run_id": run_id, "status": self.store.summary(run_id)["status"]}

    def delete(self, run_id: str, force: bool) -> dict[str, Any]:
        from trackrun.store.gc import trash_runs

        trash_runs(self.store, [check_run_id(run_id)], force=force)
        return {"run_id": run_id, "deleted": True}

    def set_tags(self, run_id: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        paths = self.store.paths.run(check_run_id(run_id))
        self.store.summary(run_id)  # 404 for an unknown run
        with self.store.connection(refresh=False):  # the store lock orders our appends
            append_event(
                paths.events_of("api"),
                "tags",
                add=normalize_tags(add),
                remove=normalize_tags(remove),
            )
        self.store.ingest([run_id])
        return {"run_id": run_id, "tags": self.store.summary(run_id)["tags"]}

    def rerun(self, run_id: str, overrides: dict[str, Any]) -> RunPaths:
        """Copy a detached run's frozen job into a new queued run (params overridden)."""
        source = self.store.paths.run(check_run_id(run_id))
        if not (source.job / "spec.json").is_file():
            raise RunStateError(
                f"run {run_id} was not detached, so it has no frozen job to run again; "
                "run its cell again in the notebook instead"
            )
        info = self.store.summary(run_id)
        record = _read_json(source.run_json)
        clean = normalize_params(overrides)
        spec = _read_json(source.job / "spec.json")
        unknown = sorted(set(clean) - set(spec.get("inputs") or []))
        if unknown:
            raise TrackrunError(
                f"cannot change {', '.join(unknown)}: the cell does not read "
                f"{'it' if len(unknown) == 1 else 'them'} from the notebook "
                f"(it reads: {', '.join(spec.get('inputs') or []) or 'nothing'})"
            )
        new_id = new_run_id()
        target = self.store.paths.ensure().run(new_id)
        target.root.mkdir(mode=0o700)
        shutil.copytree(
            source.job,
            target.job,
            ignore=shutil.ignore_patterns("claim", "outputs*", "error.txt", ".*"),
        )
        if (source.code).is_dir():
            shutil.copytree(source.code, target.code)
        spec["overrides"] = {**(spec.get("overrides") or {}), **clean}
        write_json_atomic(target.job / "spec.json", spec)
        write_json_atomic(
            target.run_json,
            {
                **record,
                "run_id": new_id,
                "name": f"{info['name']}-rerun",
                "created_at": time.time(),
                "params": {**info["params"], **clean},
                "launch": {**(record.get("launch") or {}), "rerun_of": run_id},
            },
        )
        append_event(target.events, "status", status="queued")
        return target


def run_row(row: dict[str, Any]) -> dict[str, Any]:
    """The wire form of a run row (RunRow in docs/rest-api.md) from a flat runs() row."""
    params = {k[7:]: v for k, v in row.items() if k.startswith("params.")}
    keys = [
        c[8:] for c in row if c.startswith("metrics.") and f"{c}.min" in row and f"{c}.max" in row
    ]
    metrics = {
        k: {
            "last": row[f"metrics.{k}"],
            "min": row[f"metrics.{k}.min"],
            "max": row[f"metrics.{k}.max"],
        }
        for k in keys
    }
    out = {key: row.get(key) for key in _ROW_FIELDS}
    out["tags"] = list(row.get("tags") or [])
    out["params"] = params
    out["metrics"] = metrics
    return dict(jsonable(out))


_ROW_FIELDS = (
    "run_id",
    "name",
    "status",
    "notebook",
    "started_at",
    "ended_at",
    "duration",
    "attempts",
    "detached",
)


def _table(table: Table) -> dict[str, Any]:
    return {"columns": table.column_names, "rows": [list(r.values()) for r in table]}


def _ids_filter(ids: list[str]) -> str:
    # Run ids are validated against the id pattern, so they are safe inside quotes.
    return "id in (" + ", ".join(f'"{check_run_id(r)}"' for r in ids) + ")"


def _list_files(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
    except FileNotFoundError:
        return []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
