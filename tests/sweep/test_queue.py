"""The store queue without a server: one runner per store, per-sweep slots, no strands, no repeats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trackrun import jobs
from trackrun.jobs import slots
from trackrun.jobs.queue import drainer_file
from trackrun.jobs.queue_runner import enqueue, ensure_drainer, spawn_runner
from trackrun.layout import StorePaths
from trackrun.store import Store

from .conftest import MakeJob, attempts_started, max_overlap, wait_all_ended, wait_until

pytestmark = pytest.mark.slow

STEP_JOB = "import time, trackrun\nfor i in range(3):\n    trackrun.log(i=i, step=i)\n    time.sleep(0.25)\n"
# Appends its point to a shared file, so a run that ran twice shows up twice.
MARK_JOB = (
    "import time, trackrun\nwith open(marks, 'a') as f:\n    f.write(f'{k}\\n')\n"
    "trackrun.log(k=k, step=0)\ntime.sleep(1.0)\n"
)


def test_runner_keeps_each_sweep_to_its_parallel_limit_then_exits(
    store_root: Path, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKRUN_MAX_PARALLEL", "4")  # the sweep's limit, not the store's, binds
    runs = [make_job(STEP_JOB, sweep="sw-a", parallel=2) for _ in range(5)]
    handles = jobs.submit_many([r.root for r in runs])
    assert [h.backend for h in handles] == ["local"] * 5
    store = Store(store_root, lease=0)
    ids = [r.run_id for r in runs]
    assert set(wait_all_ended(store, ids).values()) == {"finished"}
    assert max_overlap(store, ids) <= 2
    assert all(attempts_started(r) == 1 for r in runs)
    wait_until(lambda: not slots.lock_is_held(store_root), 30, "the runner to exit")
    assert jobs.queued(StorePaths(store_root)) == []
    assert not drainer_file(store_root).exists()  # it unregistered on the way out


def test_runner_keeps_the_project_configs_limit_and_hands_out_gpus_to_gpu_auto_runs(
    store_root: Path, make_job: MakeJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKRUN_MAX_PARALLEL", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # two GPUs would allow two at once
    store_root.mkdir(parents=True, exist_ok=True)
    (store_root / "config.toml").write_text("max_parallel = 1\n")
    gpu_job = (
        "import os, time\nprint('gpu', os.environ.get('CUDA_VISIBLE_DEVICES'))\ntime.sleep(0.5)\n"
    )
    runs = [make_job(gpu_job, gpu="auto") for _ in range(3)]
    jobs.submit_many([r.root for r in runs])
    store = Store(store_root, lease=0)
    ids = [r.run_id for r in runs]
    assert set(wait_all_ended(store, ids).values()) == {"finished"}
    assert max_overlap(store, ids) == 1  # the config's limit, not one per GPU
    gpus = [r.output_log.read_text().split()[1] for r in runs]
    assert set(gpus) <= {"3", "5"}, gpus  # each got a visible GPU, not "auto" or none


def test_exactly_one_runner_drains_a_store(
    store_root: Path, make_job: MakeJob, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    run = make_job(
        f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists():\n    time.sleep(0.05)\n"
    )
    store = StorePaths(store_root)
    held = slots.try_lock(store_root)  # as if a server drained the store
    assert held is not None
    enqueue(store_root, run.run_id)
    assert ensure_drainer(store) is False  # nothing started while someone holds the lock
    slots.release(held)
    runners = [spawn_runner(store) for _ in range(3)]
    wait_until(lambda: sum(r.poll() is not None for r in runners) == 2, 120, "two runners to leave")
    log = (store_root / "queue-runner.log").read_text()
    assert log.count("found another drainer for") == 2
    assert slots.lock_is_held(store_root)
    go.write_text("")
    st = Store(store_root, lease=0)
    assert wait_all_ended(st, [run.run_id]) == {run.run_id: "finished"}
    assert attempts_started(run) == 1
    wait_until(lambda: all(r.poll() is not None for r in runners), 60, "the runner to exit")
    assert (store_root / "queue-runner.log").read_text().count(" drained ") == 1


@pytest.mark.parametrize("recovery", ["queue-run", "new-launch"])
def test_killed_runner_is_replaced_and_nothing_runs_twice_or_is_lost(
    store_root: Path,
    make_job: MakeJob,
    tmp_path: Path,
    recovery: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACKRUN_MAX_PARALLEL", "2")  # two at once even on a 2-core machine
    marks = tmp_path / "marks"
    runs = [
        make_job(MARK_JOB, {"marks": str(marks), "k": k}, sweep="sw-k", parallel=2)
        for k in range(6)
    ]
    jobs.submit_many([r.root for r in runs])
    store = Store(store_root, lease=0)
    ids = [r.run_id for r in runs]

    def two_running() -> bool:
        statuses = list(store.runs(f"id in ({', '.join(ids)})")["status"])
        return statuses.count("running") == 2

    wait_until(two_running, 120, "two runs running")
    info = json.loads(drainer_file(store_root).read_text())
    os.kill(int(info["pid"]), signal.SIGKILL)
    wait_until(lambda: not slots.lock_is_held(store_root), 30, "the lock to be released")
    assert jobs.queued(StorePaths(store_root)), "runs were still waiting when the runner died"
    everything = list(ids)
    if recovery == "queue-run":
        done = subprocess.run(
            [sys.executable, "-m", "trackrun.cli", "--store", str(store_root), "queue", "run"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "the queue is empty" in done.stdout
    else:
        extra = make_job(STEP_JOB)
        jobs.submit(extra.root)
        everything.append(extra.run_id)
    assert set(wait_all_ended(store, everything).values()) == {"finished"}
    assert sorted(marks.read_text().split()) == [str(k) for k in range(6)]
    assert all(attempts_started(r) == 1 for r in runs)
    assert max_overlap(store, ids) <= 2


def test_a_claim_left_by_a_dead_drainer_is_started_and_a_cancelled_run_is_not(
    store_root: Path, make_job: MakeJob
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = make_job(STEP_JOB)
    (orphan.job / "claim").write_text(str(dead.pid))  # claimed, then the drainer died
    cancelled = make_job(STEP_JOB)
    store = Store(store_root, lease=0)
    jobs.kill(store, cancelled.run_id)  # cancelled while queued: claimed and recorded killed
    (cancelled.job / "claim").write_text(str(dead.pid))
    for run in (orphan, cancelled):
        enqueue(store_root, run.run_id)
    assert jobs.run_queue(StorePaths(store_root), max_parallel=2) is True
    assert wait_all_ended(store, [orphan.run_id, cancelled.run_id]) == {
        orphan.run_id: "finished",
        cancelled.run_id: "killed",
    }
    assert attempts_started(orphan) == 1 and attempts_started(cancelled) == 0
