"""The run detail tells where a detached run executes: the backend and, on SLURM, the job's
id, state and queue wait, from what the drainer saved (the request never asks SLURM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trackrun
from trackrun.jobs import JobState
from trackrun.jobs.backends import Handle
from trackrun.jobs.reconciler import save_state
from trackrun.layout import StorePaths

from .common import check_answer, get


async def test_a_slurm_run_shows_its_job_and_a_local_one_its_backend(
    jp_fetch: Any, isolated_store: Path
) -> None:
    runs = []
    for name in ("on-slurm", "here"):
        with trackrun.start_run(name=name) as run:
            trackrun.log(x=1.0, step=0)
        record = json.loads(run.paths.run_json.read_text())
        record["launch"] = {"kind": "detached", "detached": True}
        run.paths.run_json.write_text(json.dumps(record))
        run.paths.job.mkdir(exist_ok=True)
        runs.append(run)
    slurm, local = (StorePaths(isolated_store).run(r.run_id) for r in runs)
    Handle("slurm", slurm.run_id, {"job_id": "42"}).save(slurm)
    save_state(slurm, JobState("queued", "PENDING (Resources)", {"queue_wait": 12.5}))
    Handle("local", local.run_id, {"pid": 1}).save(local)
    trackrun.api.get_store().reindex()

    response = await jp_fetch("trackrun", "api", "runs", slurm.run_id)
    check_answer("runs/{run_id}", "get", response)
    detail = json.loads(response.body)
    assert detail["job"] == {
        "backend": "slurm",
        "job_id": "42",
        "state": "PENDING (Resources)",
        "queue_wait": 12.5,
    }
    detail = await get(jp_fetch, f"runs/{local.run_id}")
    assert detail["job"]["backend"] == "local" and detail["job"]["job_id"] is None
