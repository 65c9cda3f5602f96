"""Detached runs on a real single-node SLURM cluster (.ci/slurm-up): submit, queue, kill,
fail and retry, a controller outage, bad input, and a supervisor killed on the node."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from trackrun import jobs
from trackrun.errors import TrackrunError
from trackrun.events import iter_events
from trackrun.jobs.backends import Handle
from trackrun.jobs.reconciler import RECONCILE_EVERY, STALE_AFTER
from trackrun.layout import RunPaths
from trackrun.run import Run
from trackrun.store import Store

from ..kernels import Kernel, error_of, stdout_of
from ..notebooks import make_git_project
from .conftest import REPO, cli, scontrol, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TRAIN_CELL = """%%track_run --detach --slurm "time=00:10:00 comment=from-the-cell"
import time, trackrun
losses = []
for epoch in range(20):
    loss = 1.0 / (epoch + 1)
    losses.append(loss)
    trackrun.log(loss=loss, step=epoch)
    print(f"epoch {epoch} loss {loss:.4f}")
    time.sleep(0.25)
"""


def _make_job(store_root: Path, source: str, retries: int = 0) -> RunPaths:
    run = Run.start(
        store_root,
        launch={"kind": "detached", "detached": True, "retries": retries, "backend": "slurm"},
        status="queued",
    )
    jobs.write_job(run.paths, source, jobs.freeze_inputs({}, []), [], None, retries, None)
    run.release()
    return run.paths


def _wait_for(go: Path) -> str:
    """Cell code that waits for the file ``go`` (so the test decides when a job ends)."""
    return f"while not pathlib.Path({str(go)!r}).exists():\n    time.sleep(0.1)\n"


def _status(store: Store, run_id: str) -> str:
    return str(store.summary(run_id)["status"])


def _job_id(run: RunPaths) -> str:
    handle = Handle.load(run)
    assert handle is not None and handle.backend == "slurm"
    return str(handle.ident["job_id"])


def _panel(store: Store, run_id: str) -> dict[str, Any]:
    """What the panel shows of the run's job: the state saved, never asking SLURM."""
    info = jobs.describe(store, run_id, ask=False)
    assert info is not None
    return info


def _panel_state(store: Store, run_id: str) -> str | None:
    return _panel(store, run_id).get("state")


def _reconciled_state(store: Store, run_id: str) -> str:
    jobs.reconcile(store)
    return str(_panel_state(store, run_id))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_detached_cell_runs_on_slurm_and_attaches_in_a_new_kernel(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    project = make_git_project(tmp_path / "project")
    store_root.mkdir()
    # The project config chooses SLURM and default options; the cell's own options win.
    (project / "pyproject.toml").write_text(
        '[tool.trackrun]\nbackend = "slurm"\n[tool.trackrun.slurm]\ntime = "00:05:00"\n'
    )
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        text = stdout_of(kernel.run(TRAIN_CELL))
        match = re.search(r"detached run \S+ \((\d{8}-\d{6}-[0-9a-f]{6})\)", text)
        assert match, text
        run_id = match.group(1)
    finally:
        kernel.shutdown()
    run = RunPaths(store_root / "runs" / run_id)
    script = (run.job / "slurm.sh").read_text()
    assert "#SBATCH --time=00:10:00" in script and "#SBATCH --comment=from-the-cell" in script
    job_id = _job_id(run)

    def listed_running() -> bool:
        listing = cli(str(store_root), "ls", "--columns", "metrics.loss")
        row = next(line for line in listing.splitlines() if run_id[:8] in line)
        return "running" in row and re.search(r"0\.\d+", row.split("running", 1)[1]) is not None

    wait_until(listed_running, "trackrun ls to show the running run with its loss")
    # The panel shows what the last reconcile pass saved (it never asks SLURM itself).
    store = Store(store_root, lease=0)
    jobs.reconcile(store)
    assert str(_panel_state(store, run_id)).startswith("RUNNING on"), _panel_state(store, run_id)
    shown = cli(str(store_root), "show", run_id)
    assert f"backend   slurm  job {job_id}" in shown
    wait_until(lambda: _status(store, run_id) not in ("queued", "running"), "the run to end")
    assert _status(store, run_id) == "finished"
    wait_until(lambda: _reconciled_state(store, run_id).startswith("COMPLETED"), "COMPLETED")
    assert "COMPLETED" in cli(str(store_root), "show", run_id)
    logs = cli(str(store_root), "logs", run_id)
    assert "epoch 0 loss 1.0000" in logs and "epoch 19 loss 0.0500" in logs, logs

    fresh = Kernel.start(project)
    try:
        fresh.run("%load_ext trackrun")
        messages = fresh.run(f"%track_run --attach {run_id}")
        assert error_of(messages) is None, stdout_of(messages)
        assert "epoch 19 loss" in stdout_of(messages)
        check = fresh.run("print(len(losses), losses[-1])")
        assert stdout_of(check).strip() == f"20 {1.0 / 20}"
    finally:
        fresh.shutdown()
    assert store.metrics(run_id, ["loss"])["step"] == list(range(20))


def test_jobs_beyond_the_nodes_cpus_show_queued_with_slurms_reason(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    go, go_extra = tmp_path / "go", tmp_path / "go-extra"
    source = "import pathlib, time\n" + _wait_for(go)
    runs = [_make_job(store_root, source) for _ in range(os.cpu_count() or 2)]
    extra = _make_job(store_root, "import pathlib, time\n" + _wait_for(go_extra))
    for run in [*runs, extra]:
        jobs.submit(run.root, "slurm")
    store = Store(store_root, lease=0)
    for run in runs:
        wait_until(lambda r=run: _status(store, r.run_id) == "running", "the first jobs to run")
    shown = cli(str(store_root), "show", extra.run_id)
    assert _status(store, extra.run_id) == "queued"
    assert re.search(r"PENDING \((Resources|Priority)\)  queue wait \d+s", shown), shown
    assert str(_panel_state(store, extra.run_id)).startswith("PENDING (")
    adopted = jobs.get_backend("slurm", store.paths).adopt()  # after a server restart
    assert sorted(h.run_id for h in adopted) == sorted(r.run_id for r in [*runs, extra])
    # SLURM runs on this very host are no local runs: no local slot or GPU goes to them.
    assert jobs.get_backend("local", store.paths).adopt() == []
    go.write_text("")
    wait_until(lambda: _status(store, extra.run_id) == "running", "the extra job to run")
    # Once it runs, the panel says so, with its queue wait frozen at SLURM's start - submit.
    wait_until(lambda: _reconciled_state(store, extra.run_id).startswith("RUNNING on"), "RUNNING")
    waited = _panel(store, extra.run_id)["queue_wait"]
    assert isinstance(waited, float) and waited > 0, _panel(store, extra.run_id)
    time.sleep(1.5)
    assert _reconciled_state(store, extra.run_id).startswith("RUNNING on")
    assert _panel(store, extra.run_id)["queue_wait"] == waited
    go_extra.write_text("")
    for run in [*runs, extra]:
        wait_until(lambda r=run: _status(store, r.run_id) == "finished", "every job to finish")
    for run in [*runs, extra]:
        wait_until(
            lambda r=run: _reconciled_state(store, r.run_id).startswith("COMPLETED"),
            "the panel to show COMPLETED",
        )
    assert abs(_panel(store, extra.run_id)["queue_wait"] - waited) <= 1.0  # sacct's record
    assert "queue wait" in cli(str(store_root), "show", extra.run_id)


def test_kill_cancels_through_scancel_and_leaves_no_process(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    source = (
        "import os, subprocess, time\n"
        # A grandchild in its own session: only the job's cgroup still holds it.
        "grandchild = subprocess.Popen(['setsid', 'sleep', '1000'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{grandchild.pid}}')\n"
        "time.sleep(1000)\n"
    )
    run = _make_job(store_root, source)
    jobs.submit(run.root, "slurm")
    text = wait_until(lambda: pids.exists() and pids.read_text(), "the job to start")
    job_pid, grandchild = (int(p) for p in str(text).split())
    store = Store(store_root, lease=0)
    supervisor = int(store.summary(run.run_id)["pid"])
    assert _alive(job_pid) and _alive(grandchild) and _alive(supervisor)
    cli(str(store_root), "kill", run.run_id)
    assert _status(store, run.run_id) == "killed"
    for pid in (supervisor, job_pid, grandchild):
        wait_until(lambda p=pid: not _alive(p), f"process {pid} to be gone", timeout=30)
    wait_until(
        lambda: "CANCELLED" in cli(str(store_root), "show", run.run_id),
        "SLURM to report the job CANCELLED",
    )


def test_failure_has_its_traceback_and_a_requeue_resumes_from_the_checkpoint(
    cluster: Path, store_root: Path
) -> None:
    store = Store(store_root, lease=0)
    failing = _make_job(store_root, "def train():\n    raise ValueError('bad batch')\ntrain()\n")
    jobs.submit(failing.root, "slurm")
    wait_until(lambda: _status(store, failing.run_id) not in ("queued", "running"), "the end")
    info = store.summary(failing.run_id)
    assert info["status"] == "failed"
    assert "Traceback" in info["error"] and "ValueError: bad batch" in info["error"]

    source = """import os, time, trackrun
ck = trackrun.resume()
start = ck.step + 1 if ck else 0
print("attempt", os.environ["TRACKRUN_ATTEMPT"], "starts at", start, flush=True)
for step in range(start, 30):
    trackrun.log(loss=1.0 / (step + 1), step=step)
    if step % 5 == 4:
        trackrun.checkpoint({"step": step}, step=step)
    if step == 12 and os.environ["TRACKRUN_ATTEMPT"] == "1":
        time.sleep(1000)  # SLURM requeues the job here
"""
    run = _make_job(store_root, source, retries=1)
    jobs.submit(run.root, "slurm")
    job_id = _job_id(run)

    def at_step_12() -> bool:
        summary = store.summary(run.run_id)
        return bool(summary["metrics"]) and summary["metrics"]["loss"]["count"] >= 13

    wait_until(at_step_12, "attempt 1 to reach step 12")
    scontrol("requeue", job_id)
    # The requeued job waits cred_expire (10 s in .ci/slurm-up) before it starts again;
    # forcing it sooner (StartTime=now) makes slurmd refuse it as a revoked credential.
    wait_until(lambda: "JobState=PENDING" in scontrol("show", "job", job_id), "the requeue")
    wait_until(
        lambda: _status(store, run.run_id) not in ("queued", "running"), "attempt 2", timeout=150
    )
    info = store.summary(run.run_id)
    assert info["status"] == "finished", info.get("error")
    assert info["attempts"] == 2
    history = store.metrics(run.run_id, ["loss"])
    assert history["step"] == list(range(30))
    assert history["value"] == [1.0 / (s + 1) for s in range(30)]
    log = run.output_log.read_text()
    assert "attempt 1 starts at 0" in log and "attempt 2 starts at 10" in log


def test_stopped_controller_reads_unreachable_never_lost_then_finished(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    source = (
        "import pathlib, time, trackrun\nstep = 0\n"
        f"while not pathlib.Path({str(go)!r}).exists():\n"
        "    trackrun.log(tick=step, step=step)\n    step += 1\n    time.sleep(0.2)\n"
    )
    run = _make_job(store_root, source)
    jobs.submit(run.root, "slurm")
    store = Store(store_root, lease=0)
    wait_until(lambda: _status(store, run.run_id) == "running", "the job to run")
    subprocess.run(["bash", str(REPO / ".ci/slurm-down"), "ctld"], check=True, timeout=60)
    try:
        down_since = time.monotonic()
        shown = cli(str(store_root), "show", run.run_id)
        assert "SLURM controller not reachable" in shown
        before = store.summary(run.run_id)["metrics"]["tick"]["count"]
        # The outage lasts 20 s; all along, the job goes on and the run is never lost.
        while time.monotonic() - down_since < 20:
            assert "running" in cli(str(store_root), "ls")
            assert _status(store, run.run_id) == "running"
            time.sleep(1)
        assert store.summary(run.run_id)["metrics"]["tick"]["count"] > before
    finally:
        subprocess.run(["bash", str(REPO / ".ci/slurm-up")], check=True, timeout=60)
    assert "RUNNING on" in cli(str(store_root), "show", run.run_id)
    go.write_text("")
    wait_until(lambda: _status(store, run.run_id) not in ("queued", "running"), "the end")
    assert _status(store, run.run_id) == "finished"


def test_bad_input_is_refused_before_anything_runs(
    cluster: Path, store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_git_project(tmp_path / "project")
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        for option, problem in [
            ('--slurm "partition gpu"', "'partition' has no value"),
            ('--slurm "partition=nope"', "unknown SLURM partition nope; this cluster has: debug"),
        ]:
            messages = kernel.run(f"%%track_run --detach --on slurm {option}\nx = 1\n")
            shown = stdout_of(messages)
            assert "UsageError" in shown and problem in shown, shown
    finally:
        kernel.shutdown()
    assert not (store_root / "runs").exists() or not list((store_root / "runs").iterdir())

    store = Store(store_root, lease=0)
    run = _make_job(store_root, "x = 1\n")
    with monkeypatch.context() as patch:
        patch.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(TrackrunError, match="`sbatch` is not installed"):
            jobs.submit(run.root, "slurm")
    assert _status(store, run.run_id) == "failed"
    assert "sbatch` is not installed" in store.summary(run.run_id)["error"]
    assert Handle.load(run) is None

    # A store the compute node does not see (slurm-up hides node-invisible/ from slurmd).
    hidden = cluster / "node-invisible" / "store"
    hidden_run = _make_job(hidden, "x = 1\n")
    with pytest.raises(TrackrunError, match="the store is not on a filesystem the compute node"):
        jobs.submit(hidden_run.root, "slurm")
    hidden_store = Store(hidden, lease=0)
    assert _status(hidden_store, hidden_run.run_id) == "failed"
    job_id = _job_id(hidden_run)
    wait_until(
        lambda: "RUNNING" not in cli(str(hidden), "show", hidden_run.run_id),
        "the job to be gone",
    )
    subprocess.run(["rm", "-rf", str(hidden)], check=True)
    assert job_id


def test_supervisor_killed_on_the_node_becomes_lost_after_asking_sacct(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    source = "import time, trackrun\nfor i in range(100000):\n    trackrun.log(i=i, step=i)\n    time.sleep(0.05)\n"
    run = _make_job(store_root, source)
    jobs.submit(run.root, "slurm")
    store = Store(store_root, lease=0)
    wait_until(lambda: _status(store, run.run_id) == "running", "the job to run")
    wait_until(lambda: store.summary(run.run_id)["metrics"], "the first metrics")
    supervisor = int(store.summary(run.run_id)["pid"])
    os.kill(supervisor, signal.SIGKILL)
    killed_at = time.monotonic()
    # The store alone never calls it lost (no pid judgement for SLURM runs) ...
    wait_until(lambda: not _alive(supervisor), "the supervisor to be gone")
    assert _status(store, run.run_id) == "running"
    # ... the Jupyter server's drainer asks SLURM (in the background, every 15 s) once the
    # heartbeats are older than the bound (15 s).
    drainer = jobs.Drainer(store.paths, max_parallel=1)
    drainer.start()
    try:

        def judged() -> bool:
            drainer.tick()
            return _status(store, run.run_id) != "running"

        wait_until(judged, "the drainer to judge the run", timeout=STALE_AFTER + 45)
        took = time.monotonic() - killed_at
    finally:
        drainer.stop()
    # The bound: heartbeats stale after STALE_AFTER, then at most one background interval
    # until the next pass asks SLURM, plus the pass itself (squeue, sacct, recording).
    assert took <= STALE_AFTER + RECONCILE_EVERY + 10, f"lost {took:.1f} s after kill -9"
    info = store.summary(run.run_id)
    assert info["status"] == "lost"
    assert "per sacct" in info["error"] and "FAILED" in info["error"], info["error"]
    steps = store.metrics(run.run_id, ["i"])["step"]
    assert steps == list(range(len(steps)))
    assert [e for e in iter_events(run.events_of("supervisor")) if e.get("status") == "lost"] == []


def test_slurms_own_verdicts_become_clear_errors(cluster: Path, store_root: Path) -> None:
    source = "import time\ntime.sleep(1000)\n"
    timed = _make_job(store_root, source)
    jobs.submit(timed.root, "slurm", {"time": "1"})  # one minute
    cancelled = _make_job(store_root, source)
    jobs.submit(cancelled.root, "slurm")
    store = Store(store_root, lease=0)
    for run in (timed, cancelled):
        wait_until(lambda r=run: _status(store, r.run_id) == "running", "the jobs to run")
    subprocess.run(["scancel", _job_id(cancelled)], check=True, timeout=20)  # not trackrun kill

    def ended(run: RunPaths) -> bool:
        cli(str(store_root), "ls")  # the CLI asks SLURM about runs it stopped itself
        return _status(store, run.run_id) not in ("queued", "running")

    wait_until(lambda: ended(cancelled), "the cancelled run to end")
    info = store.summary(cancelled.run_id)
    assert info["status"] == "killed" and "cancelled in SLURM (scancel)" in info["error"]
    wait_until(lambda: ended(timed), "the time limit", timeout=240)
    info = store.summary(timed.run_id)
    assert info["status"] == "failed" and "time limit (TIMEOUT)" in info["error"], info["error"]


def test_an_array_runs_its_runs_at_most_parallel_at_once(cluster: Path, store_root: Path) -> None:
    runs = [
        _make_job(store_root, f"import time\nprint('task {i}')\ntime.sleep(1)\n") for i in range(3)
    ]
    backend = jobs.get_backend("slurm", Store(store_root, lease=0).paths)
    handles = backend.submit_many(runs, parallel=1)
    array_id = str(handles[0].ident["array_job_id"])
    assert [h.ident["job_id"] for h in handles] == [f"{array_id}_{i}" for i in range(3)]
    assert [Handle.load(r) for r in runs] == handles
    store = Store(store_root, lease=0)
    seen_limit = False
    while any(_status(store, r.run_id) in ("queued", "running") for r in runs):
        states = [backend.state(h) for h in handles]
        assert sum(s.phase == "running" for s in states) <= 1
        seen_limit |= any("JobArrayTaskLimit" in (s.detail or "") for s in states)
        time.sleep(0.2)
    assert seen_limit
    for i, run in enumerate(runs):
        assert _status(store, run.run_id) == "finished"
        assert f"task {i}" in run.output_log.read_text()


def test_node_failure_resubmits_each_array_task_which_resumes_from_its_checkpoint(
    cluster: Path, store_root: Path
) -> None:
    source = """import os, time, trackrun
ck = trackrun.resume()
start = ck.step + 1 if ck else 0
print("attempt", os.environ["TRACKRUN_ATTEMPT"], "starts at", start, flush=True)
for step in range(start, 20):
    trackrun.log(x=step, step=step)
    if step % 5 == 4:
        trackrun.checkpoint({"step": step}, step=step)
    time.sleep(0.5 if os.environ["TRACKRUN_ATTEMPT"] == "1" else 0.1)
"""
    # Two runs in one job array (as a sweep sends them): the node runs both at once.
    runs = [_make_job(store_root, source, retries=1) for _ in range(2)]
    jobs.submit_many([run.root for run in runs], backend="slurm")
    first_jobs = [_job_id(run) for run in runs]
    assert [j.rsplit("_", 1)[1] for j in first_jobs] == ["0", "1"]
    store = Store(store_root, lease=0)

    def at_step_7(run: RunPaths) -> bool:
        metrics = store.summary(run.run_id)["metrics"]
        return bool(metrics) and metrics["x"]["count"] >= 8

    for run in runs:
        wait_until(lambda r=run: at_step_7(r), "attempt 1 to pass a checkpoint")
    # A cluster that does not requeue (JobRequeue=0, PreemptMode=CANCEL): trackrun resubmits
    # each task as a job of its own.
    for job_id in first_jobs:
        scontrol("update", f"JobId={job_id}", "Requeue=0")
    scontrol("update", "NodeName=" + os.uname().nodename.split(".")[0], "State=DOWN", "Reason=test")
    try:

        def ended() -> bool:
            jobs.reconcile(store)
            return all(_status(store, r.run_id) not in ("queued", "running") for r in runs)

        wait_until(ended, "the resubmitted attempts to finish", timeout=120)
    finally:
        node = os.uname().nodename.split(".")[0]
        subprocess.run(["scontrol", "update", f"NodeName={node}", "State=RESUME"], timeout=20)
    for run, first_job in zip(runs, first_jobs, strict=True):
        info = store.summary(run.run_id)
        assert info["status"] == "finished", info["error"]
        assert info["attempts"] == 2
        handle = Handle.load(run)
        assert handle is not None and handle.ident["job_ids"][0] == first_job
        assert len(handle.ident["job_ids"]) == 2
        assert store.metrics(run.run_id, ["x"])["step"] == list(range(20))
        log = run.output_log.read_text()
        # From the newest checkpoint (step 4, or step 9 for a task a little ahead).
        assert "attempt 1 starts at 0" in log, log
        assert re.search(r"attempt 2 starts at (5|10)\n", log), log


def test_the_job_gets_the_kernels_secrets_and_no_file_of_ours_holds_them(
    cluster: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hf_slurm0123456789abcdef"
    monkeypatch.setenv("HF_TOKEN", secret)
    digest = hashlib.sha256(secret.encode()).hexdigest()  # the cell must not hold the secret
    source = (
        "import hashlib, os\n"
        "seen = hashlib.sha256(os.environ.get('HF_TOKEN', '').encode()).hexdigest()\n"
        f"print('token ok' if seen == {digest!r} else 'token missing')\n"
    )
    run = _make_job(store_root, source)
    jobs.submit(run.root, "slurm")
    store = Store(store_root, lease=0)
    wait_until(lambda: _status(store, run.run_id) not in ("queued", "running"), "the end")
    assert _status(store, run.run_id) == "finished", store.summary(run.run_id).get("error")
    assert "token ok" in run.output_log.read_text()
    for path in run.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"{path} holds the secret"
