"""The backend seam: handles, choosing a backend, local state and adoption, cloning jobs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trackrun import jobs
from trackrun.errors import RunStateError, TrackrunError
from trackrun.jobs import processes
from trackrun.jobs.backends import Handle
from trackrun.jobs.backends.local import LocalBackend
from trackrun.layout import StorePaths
from trackrun.run import Run
from trackrun.store import Store

from .conftest import MakeJob, wait_for_file, wait_status


def test_handle_round_trips_through_the_run_folder(make_job: MakeJob) -> None:
    run = make_job("pass")
    assert Handle.load(run) is None
    Handle("slurm", run.run_id, {"job_id": "42"}, submitted_at=12.5).save(run)
    loaded = Handle.load(run)
    assert loaded == Handle("slurm", run.run_id, {"job_id": "42"}, submitted_at=12.5)
    assert (run.job / "handle.json").stat().st_mode & 0o777 == 0o600


def test_unknown_backend_is_refused_naming_the_choices(store_root: Path) -> None:
    with pytest.raises(TrackrunError, match="unknown jobs backend 'kubernetes'.*local"):
        jobs.get_backend("kubernetes", StorePaths(store_root))


@pytest.mark.slow
def test_local_backend_runs_reports_and_adopts(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    run = make_job(
        f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists():\n    time.sleep(0.05)\n"
        "print('done')"
    )
    backend = LocalBackend(StorePaths(store_root))
    try:
        queued = jobs.submit(run.root)
        assert queued.backend == "local" and backend.state(queued).phase in ("queued", "running")
        store = Store(store_root, lease=0)
        wait_status(store, run.run_id, {"running"})
        handle = Handle.load(run)  # saved by the queue runner that started the supervisor
        assert handle is not None and handle.ident["pid"]
        assert backend.state(handle).phase == "running"
        adopted = backend.adopt()
        assert [h.run_id for h in adopted] == [run.run_id]
        assert adopted[0].ident["pid"] == handle.ident["pid"]
        go.write_text("")
        assert wait_status(store, run.run_id, {"finished", "failed", "lost"}) == "finished"
        assert backend.state(handle).phase == "ended"
        assert backend.adopt() == []
        attempts = [
            json.loads(line)
            for line in run.events_of("supervisor").read_text().splitlines()
            if '"attempt"' in line
        ]
        assert attempts[0]["proc_start"]  # the job's leader is named with its start token
    finally:
        go.write_text("")  # never leave the job waiting when an assertion failed


@pytest.mark.slow
def test_supervisor_retries_and_records_each_attempt(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    count = tmp_path / "count"
    run = make_job(
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(count)!r})\n"
        "n = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(n + 1))\n"
        "sys.exit(0 if n >= 1 else 3)\n",
        retries=2,
    )
    jobs.submit(run.root)
    store = Store(store_root, lease=0)
    assert wait_status(store, run.run_id, {"finished", "failed", "lost"}) == "finished"
    assert store.summary(run.run_id)["attempts"] == 2
    assert "attempt 1 failed (exit code 3); retrying" in run.output_log.read_text()


def test_descendants_are_found_across_sessions(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    script = (
        "import subprocess, time\n"
        "p = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        child = int(wait_for_file(marker))
        found = processes.descendants(parent.pid)
        assert child in [p.pid for p in found]
        assert all(p.start for p in found)
    finally:
        processes.signal_procs(processes.descendants(parent.pid), 9)
        parent.kill()
        parent.wait()


def test_clone_copies_the_job_with_overrides(store_root: Path) -> None:
    run = Run.start(
        store_root, name="base", params={"lr": 0.1}, launch={"detached": True}, status="queued"
    )
    jobs.write_job(
        run.paths, "print(lr)", jobs.freeze_inputs({"lr": 0.1}, ["lr"]), [], None, 0, None
    )
    (run.paths.job / "claim").write_text("1")
    run.release()
    store = StorePaths(store_root)
    copy = jobs.clone(store, run.run_id, {"lr": 0.5}, name="base-lr0.5", launch={"sweep": "s1"})
    record = json.loads(copy.run_json.read_text())
    assert record["name"] == "base-lr0.5" and record["params"] == {"lr": 0.5}
    assert record["launch"]["rerun_of"] == run.run_id and record["launch"]["sweep"] == "s1"
    assert jobs.read_spec(copy)["overrides"] == {"lr": 0.5}
    assert not (copy.job / "claim").exists()  # the copy has not been started by anyone
    assert Store(store_root, lease=0).summary(copy.run_id)["status"] == "queued"
    with pytest.raises(TrackrunError, match="cannot change epochs: the cell does not read it"):
        jobs.clone(store, run.run_id, {"epochs": 3})
    inline = Run.start(store_root, name="inline")
    inline.finish()
    with pytest.raises(RunStateError, match="was not detached"):
        jobs.clone(store, inline.run_id, {})
