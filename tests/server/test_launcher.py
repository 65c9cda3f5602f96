"""The server extension as the launcher of detached runs: ownership, queue, adoption."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from trackrun.store import Store

from ..kernels import JupyterServer, stdout_of
from ..notebooks import make_git_project

pytestmark = pytest.mark.slow

ENABLE = ["--ServerApp.jpserver_extensions={'trackrun': True}"]


def _detach(server: JupyterServer, kernel_id: str, seconds: float, name: str) -> str:
    cell = (
        f"%%track_run --detach --name {name}\nimport time, trackrun\n"
        f"for i in range({int(seconds * 10)}):\n    trackrun.log(i=i, step=i)\n    time.sleep(0.1)\nprint('done')"
    )
    text = stdout_of(server.run(kernel_id, cell))
    match = re.search(r"\((\d{8}-\d{6}-[0-9a-f]{6})\)", text)
    assert match, text
    return match.group(1)


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _wait(store: Store, run_id: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = store.summary(run_id)
        if info["status"] in statuses:
            return info
        time.sleep(0.1)
    raise AssertionError(f"{run_id} stayed {store.summary(run_id)['status']}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_git_project(tmp_path / "project")
    (root / "nb.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    return root


def test_server_launches_the_run_and_it_survives_the_kernel(project: Path) -> None:
    server = JupyterServer.start(project, extra_args=ENABLE)
    try:
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        run_id = _detach(server, kernel_id, 3, "owned")
        store = Store(project / ".trackrun", lease=0)
        info = _wait(store, run_id, {"running"})
        assert _ppid(int(info["pid"])) == server.process.pid  # not the kernel
        server.request("DELETE", f"/api/kernels/{kernel_id}")
        assert _wait(store, run_id, {"finished", "failed", "lost"})["status"] == "finished"
        status = server.request("GET", "/trackrun/api/status")
        assert status["running"] == 0
    finally:
        server.stop()


def test_limit_one_queues_the_second_run_until_the_first_ends(project: Path) -> None:
    server = JupyterServer.start(project, extra_args=[*ENABLE, "--TrackrunServer.max_parallel=1"])
    try:
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        first = _detach(server, kernel_id, 3, "first")
        second = _detach(server, kernel_id, 1, "second")
        store = Store(project / ".trackrun", lease=0)
        _wait(store, first, {"running"})
        assert store.summary(second)["status"] == "queued"
        listing = server.request("GET", "/trackrun/api/runs")
        assert {r["name"]: r["status"] for r in listing["runs"]}["second"] == "queued"
        first_info = _wait(store, first, {"finished"})
        second_info = _wait(store, second, {"running", "finished"})
        assert second_info["started_at"] >= first_info["ended_at"] - 0.5
        assert _wait(store, second, {"finished"})["status"] == "finished"
    finally:
        server.stop()


def test_restarted_server_adopts_a_running_run(project: Path) -> None:
    args = [*ENABLE, "--TrackrunServer.max_parallel=1"]
    server = JupyterServer.start(project, extra_args=args)
    kernel_id = server.start_kernel("nb.ipynb")
    server.run(kernel_id, "%load_ext trackrun")
    run_id = _detach(server, kernel_id, 20, "long")
    store = Store(project / ".trackrun", lease=0)
    _wait(store, run_id, {"running"})
    server.kill(signal.SIGTERM)  # a normal server stop: kernels go, the run stays
    assert store.summary(run_id)["status"] == "running"
    restarted = JupyterServer.start(project, extra_args=args)
    try:
        status = restarted.request("GET", "/trackrun/api/status")
        assert status["launcher"]["running"] == [run_id]  # adopted: it holds the only slot
        kernel_id = restarted.start_kernel("nb.ipynb")
        restarted.run(kernel_id, "%load_ext trackrun")
        waiting = _detach(restarted, kernel_id, 0.5, "after")
        assert store.summary(waiting)["status"] == "queued"
        assert _wait(store, run_id, {"finished", "failed", "lost"})["status"] == "finished"
        assert _wait(store, waiting, {"finished"}, timeout=60)["status"] == "finished"
    finally:
        restarted.stop()


def test_the_default_limit_is_the_cpu_cores_and_one_gpu_does_not_cap_cpu_runs(
    project: Path,
) -> None:
    server = JupyterServer.start(project, env={"CUDA_VISIBLE_DEVICES": "3"}, extra_args=ENABLE)
    try:
        status = server.request("GET", "/trackrun/api/status")
        assert status["launcher"]["max_parallel"] == len(os.sched_getaffinity(0))
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        first = _detach(server, kernel_id, 4, "cpu-a")
        second = _detach(server, kernel_id, 4, "cpu-b")
        store = Store(project / ".trackrun", lease=0)
        a = _wait(store, first, {"finished"})
        b = _wait(store, second, {"finished"})
        assert b["started_at"] < a["ended_at"]  # ran together, on a machine with one GPU
    finally:
        server.stop()


def test_gpu_auto_runs_get_distinct_free_gpus_and_wait_for_one(project: Path) -> None:
    # Three slots, two GPUs: the third --gpu auto run waits for a GPU, not for a slot.
    args = [*ENABLE, "--TrackrunServer.max_parallel=3"]
    server = JupyterServer.start(project, env={"CUDA_VISIBLE_DEVICES": "3,5"}, extra_args=args)
    try:
        status = server.request("GET", "/trackrun/api/status")
        assert status["launcher"]["max_parallel"] == 3
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        ids = []
        for k in range(3):
            cell = (
                f"%%track_run --detach --gpu auto --name gpu-{k}\nimport os, time\n"
                "print('gpu', os.environ.get('CUDA_VISIBLE_DEVICES'))\ntime.sleep(2)"
            )
            match = re.search(
                r"\((\d{8}-\d{6}-[0-9a-f]{6})\)", stdout_of(server.run(kernel_id, cell))
            )
            assert match
            ids.append(match.group(1))
        store = Store(project / ".trackrun", lease=0)
        _wait(store, ids[0], {"running", "finished"})
        _wait(store, ids[1], {"running", "finished"})
        assert store.summary(ids[2])["status"] == "queued"
        for run_id in ids:
            _wait(store, run_id, {"finished"})
        gpus = [
            (project / ".trackrun" / "runs" / r / "output.log").read_text().split()[1] for r in ids
        ]
        assert sorted(gpus[:2]) == ["3", "5"] and gpus[2] in ("3", "5")
    finally:
        server.stop()
