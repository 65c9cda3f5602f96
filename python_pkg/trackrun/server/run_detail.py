"""One run's detail for ``GET runs/{run_id}``: its row's fields from the index, and what
only its folder holds (attempts, outputs, provenance, its job, its writers' health), each
file read with no symlink on the way."""

from __future__ import annotations

import time
from typing import Any, cast

from trackrun.events import events_in
from trackrun.health import read_health
from trackrun.ids import check_run_id
from trackrun.layout import RunPaths
from trackrun.server import schemas as s
from trackrun.server.reproductions import Reproductions
from trackrun.server.run_files import served_names
from trackrun.server.run_rows import ROW_FIELDS
from trackrun.store import Store
from trackrun.table import jsonable


def read_run_detail(store: Store, run_id: str, reproductions: Reproductions) -> s.RunDetail:
    """The detail of run ``run_id`` of ``store`` (see s.RunDetail), with the state of its
    reproduction from ``reproductions``. Raises InvalidRunIdError (400), RunNotFoundError
    (404)."""
    info = store.summary(check_run_id(run_id))
    paths = store.paths.run(run_id)
    # Every file below is read with no symlink on the way (see RunPaths.open_inside).
    record = paths.read_json_inside(paths.run_json.name)
    detail: dict[str, Any] = {key: info.get(key) for key in ROW_FIELDS}
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
    detail["code_files"] = served_names(paths, "code")
    detail["attempts"] = [
        {k: e.get(k) for k in ("attempt", "state", "exit_code", "time")}
        for e in _supervisor_events(paths)
        if e.get("type") == "attempt"
    ]
    detail["outputs"] = paths.read_json_inside(paths.job.name, "outputs.json") or None
    provenance = record.get("provenance") or {}
    detail["provenance"] = {
        k: provenance.get(k) for k in ("git", "python", "hardware", "packages", "process")
    }
    detail["launch"] = record.get("launch") or {}
    detail["job"] = _job_info(store, paths) if detail.get("detached") else None
    health = read_health(paths)
    detail["health"] = {
        "dropped_records": health.dropped_records,
        "stalled_for": health.stalled_for if health.stalled(str(detail["status"])) else 0.0,
    }
    detail["reproduction"] = reproductions.state(run_id)
    return cast(s.RunDetail, jsonable(detail))


def _job_info(store: Store, paths: RunPaths) -> s.JobInfo | None:
    """The backend's facts of a detached run, from what its drainer saved (never asking a
    scheduler in a request: its tools can block for seconds); None when the run's job files
    have a symlink on the way (never followed into a response)."""
    from trackrun import jobs

    if not all(_plain_or_missing(paths, ["job", name]) for name in _JOB_FILES):
        return None
    info = jobs.describe(store, paths.run_id, ask=False)
    if info is None:
        return None
    wait = info.get("queue_wait")
    return {
        "backend": str(info.get("backend") or "local"),
        "job_id": None if info.get("job_id") is None else str(info["job_id"]),
        "state": info.get("state"),
        "queue_wait": float(wait) if isinstance(wait, (int, float)) else None,
    }


#: The files of job/ that jobs.describe reads.
_JOB_FILES = ("handle.json", "slurm-state.json")


def _plain_or_missing(paths: RunPaths, parts: list[str]) -> bool:
    """True when the run's file ``parts`` is missing or opens with no symlink on the way."""
    try:
        paths.open_inside(*parts).close()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _supervisor_events(paths: RunPaths) -> list[dict[str, Any]]:
    """The events of the run's supervisor file (none when it is missing or behind a symlink)."""
    try:
        with paths.open_inside(paths.events_of("supervisor").name) as f:
            data = f.read()
    except OSError:
        return []
    return events_in(data)
