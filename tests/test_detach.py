"""Detached runs with real kernels, a real Jupyter server, real supervisors and real kills."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackrun.events import iter_events
from trackrun.store import Store

from .kernels import JupyterServer, Kernel, error_of, stdout_of
from .notebooks import make_git_project

pytestmark = pytest.mark.slow

MODEL_CELL = """
import torch
class TinyNet(torch.nn.Module):          # defined in the notebook: travels by value
    def __init__(self, hidden):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    def forward(self, x):
        return self.body(x)
hidden = 16
epochs = 40
lr = 0.1
losses = []
"""

TRAIN_CELL = """%%track_run --detach
import sys, time, torch, trackrun
from sklearn.datasets import load_digits
data = load_digits()
x = torch.tensor(data.data, dtype=torch.float32) / 16.0
y = torch.tensor(data.target)
torch.manual_seed(0)
model = TinyNet(hidden)
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
    losses.append(loss.item())
    trackrun.log(loss=loss.item(), step=epoch)
    sys.stdout.write(f"\\rprogress {epoch + 1}/{epochs}")
    print(f" epoch {epoch} loss {loss.item():.4f}")
    time.sleep(0.1)
"""


def _run_id(text: str) -> str:
    match = re.search(r"detached run \S+ \((\d{8}-\d{6}-[0-9a-f]{6})\)", text)
    assert match, text
    return match.group(1)


def _wait_status(store: Store, run_id: str, statuses: set[str], timeout: float = 90) -> str:
    deadline = time.time() + timeout
    status = ""
    while time.time() < deadline:
        status = str(store.summary(run_id)["status"])
        if status in statuses:
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {status} after {timeout}s")


def _check_attached(project: Path, run_id: str) -> None:
    """A brand-new kernel attaches, sees the whole log and every metric, and gets the model."""
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        messages = kernel.run(f"%track_run --attach {run_id}")
        text = stdout_of(messages)
        assert error_of(messages) is None, text
        for epoch in range(40):
            assert f"epoch {epoch} loss" in text
        assert "trackrun: loaded" in text and "model" in text
        check = kernel.run(
            "import torch\nout = model(torch.zeros(2, 64))\nprint(tuple(out.shape), len(losses), type(model).__name__)"
        )
        assert stdout_of(check).strip() == "(2, 10) 40 TinyNet"
    finally:
        kernel.shutdown()
    store = Store(project / ".trackrun", lease=0)
    history = store.metrics(run_id, ["loss"])
    assert history["step"] == list(range(40))
    assert history["value"][-1] < history["value"][0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_git_project(tmp_path / "project")


def test_detached_run_survives_kernel_shutdown(project: Path) -> None:
    kernel = Kernel.start(project)
    kernel.run("%load_ext trackrun")
    kernel.run(MODEL_CELL)
    started = time.monotonic()
    messages = kernel.run(TRAIN_CELL)
    assert time.monotonic() - started < 5, "the cell returns at once"
    run_id = _run_id(stdout_of(messages))
    kernel.shutdown()
    store = Store(project / ".trackrun", lease=0)
    assert store.summary(run_id)["status"] in ("queued", "running")
    assert _wait_status(store, run_id, {"finished", "failed", "lost"}) == "finished"
    _check_attached(project, run_id)


@pytest.mark.parametrize(
    "also_kernel", [False, True], ids=["server-sigkill", "server-sigkill-and-kernel"]
)
def test_detached_run_survives_jupyter_server_sigkill(project: Path, also_kernel: bool) -> None:
    (project / "train.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    server = JupyterServer.start(project)
    try:
        kernel_id = server.start_kernel("train.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        server.run(kernel_id, MODEL_CELL)
        run_id = _run_id(stdout_of(server.run(kernel_id, TRAIN_CELL)))
        if also_kernel:
            server.request("DELETE", f"/api/kernels/{kernel_id}")
        server.kill(signal.SIGKILL)
    finally:
        server.stop()
    store = Store(project / ".trackrun", lease=0)
    assert _wait_status(store, run_id, {"finished", "failed", "lost"}) == "finished"
    record = store.summary(run_id)
    assert record["notebook"] and record["notebook"].endswith("train.ipynb")
    _check_attached(project, run_id)


@pytest.fixture
def kernel(project: Path) -> Iterator[Kernel]:
    k = Kernel.start(project)
    k.run("%load_ext trackrun")
    yield k
    k.shutdown()


def test_retry_resumes_from_checkpoint_without_duplicate_steps(
    project: Path, kernel: Kernel
) -> None:
    cell = """%%track_run --detach --retries 2
import os, trackrun
ck = trackrun.resume()
start = ck.step + 1 if ck else 0
print("attempt", os.environ["TRACKRUN_ATTEMPT"], "starts at", start)
for step in range(start, 30):
    trackrun.log(loss=1.0 / (step + 1), step=step)
    if step % 5 == 4:
        trackrun.checkpoint({"step": step}, step=step)
    if step == 17 and os.environ["TRACKRUN_ATTEMPT"] == "1":
        raise RuntimeError("simulated crash")
"""
    run_id = _run_id(stdout_of(kernel.run(cell)))
    store = Store(project / ".trackrun", lease=0)
    assert _wait_status(store, run_id, {"finished", "failed", "lost"}) == "finished"
    info = store.summary(run_id)
    assert info["attempts"] == 2
    history = store.metrics(run_id, ["loss"])
    assert history["step"] == list(range(30))
    assert history["value"] == [1.0 / (s + 1) for s in range(30)]
    log = (project / ".trackrun" / "runs" / run_id / "output.log").read_text()
    assert "attempt 1 starts at 0" in log and "attempt 2 starts at 15" in log
    assert "RuntimeError: simulated crash" in log and "retrying (attempt 2 of 3)" in log


def _job_pid(project: Path, run_id: str) -> int:
    path = project / ".trackrun" / "runs" / run_id / "events.supervisor.jsonl"
    deadline = time.time() + 30
    while time.time() < deadline:
        for event in iter_events(path):
            if event["type"] == "attempt" and event["state"] == "started":
                return int(event["pid"])
        time.sleep(0.1)
    raise AssertionError("no job attempt started")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def test_sigkilled_supervisor_reads_as_lost_and_job_stops(project: Path, kernel: Kernel) -> None:
    cell = "%%track_run --detach\nimport time, trackrun\nfor i in range(100000):\n    trackrun.log(i=i, step=i)\n    time.sleep(0.01)"
    run_id = _run_id(stdout_of(kernel.run(cell)))
    store = Store(project / ".trackrun", lease=0)
    _wait_status(store, run_id, {"running"})
    job = _job_pid(project, run_id)
    time.sleep(1.5)
    supervisor = int(store.summary(run_id)["pid"])
    os.kill(supervisor, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and _alive(job):
        time.sleep(0.1)
    assert not _alive(job), "the orphaned job ends itself"
    info = store.summary(run_id)
    assert info["status"] == "lost"
    assert info["metrics"]["i"]["count"] >= 50
    history = store.metrics(run_id, ["i"])
    assert history["step"] == list(range(len(history)))


def test_unpicklable_inputs_fail_before_launch_naming_each(project: Path, kernel: Kernel) -> None:
    kernel.run(
        "import sqlite3, threading\nhandle = open('out.txt', 'w')\ngen = (i for i in range(3))\n"
        "lock = threading.Lock()\ndb = sqlite3.connect(':memory:')\nok = 3"
    )
    messages = kernel.run("%%track_run --detach\nprint(handle, next(gen), lock, db, ok)")
    shown = stdout_of(messages)
    assert "UsageError" in shown
    for name, kind in (
        ("handle", "TextIOWrapper"),
        ("gen", "generator"),
        ("lock", "lock"),
        ("db", "Connection"),
    ):
        assert re.search(rf"{name}: {kind}", shown), (name, shown)
    assert "ok:" not in shown and "inside the cell" in shown
    runs = project / ".trackrun" / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    supervisors = subprocess.run(
        ["pgrep", "-f", "trackrun.jobs.supervisor"], capture_output=True, text=True
    )
    assert str(project) not in supervisors.stdout


def test_kill_stops_the_job_and_all_its_children(project: Path, kernel: Kernel) -> None:
    cell = (
        "%%track_run --detach --retries 3\nimport subprocess, time, pathlib\n"
        "child = subprocess.Popen(['sleep', '1000'])\n"
        "pathlib.Path('child.pid').write_text(str(child.pid))\n"
        "while True:\n    time.sleep(0.1)"
    )
    run_id = _run_id(stdout_of(kernel.run(cell)))
    store = Store(project / ".trackrun", lease=0)
    _wait_status(store, run_id, {"running"})
    job = _job_pid(project, run_id)
    deadline = time.time() + 30
    while time.time() < deadline and not (project / "child.pid").exists():
        time.sleep(0.1)
    child = int((project / "child.pid").read_text())
    assert _alive(child) and job in _group_members(job)
    result = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "--store", str(project / ".trackrun"), "kill", run_id[:17]],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = store.summary(run_id)
    assert info["status"] == "killed" and info["attempts"] == 1  # no retry after a kill
    deadline = time.time() + 10
    while time.time() < deadline and (_group_members(job) or _alive(child)):
        time.sleep(0.1)
    assert _group_members(job) == [] and not _alive(child)


def test_four_detached_runs_at_once(project: Path, kernel: Kernel) -> None:
    ids = []
    for k in range(4):
        cell = (
            f"%%track_run --detach --name parallel-{k}\nimport time, trackrun\n"
            f"for i in range(60):\n    print('run {k} line', i)\n    trackrun.log(v={k} * 1000 + i, step=i)\n    time.sleep(0.02)"
        )
        ids.append(_run_id(stdout_of(kernel.run(cell))))
    store = Store(project / ".trackrun", lease=0)
    for k, run_id in enumerate(ids):
        assert _wait_status(store, run_id, {"finished", "failed", "lost"}) == "finished"
        log = (project / ".trackrun" / "runs" / run_id / "output.log").read_text().splitlines()
        assert log == [f"run {k} line {i}" for i in range(60)]
        history = store.metrics(run_id, ["v"])
        assert history["value"] == [float(k * 1000 + i) for i in range(60)]


def test_secrets_reach_the_job_but_never_a_file_and_files_are_private(tmp_path: Path) -> None:
    """The kernel's secrets reach the job through the launched process's environment
    (Jupyter's own token never does); no file of the run holds a secret value."""
    project = make_git_project(tmp_path / "p")
    secrets = {
        "JUPYTER_TOKEN": "tok-123456789",
        "MY_API_KEY": "key-987654321",
        "PLAIN_SETTING": "visible",
    }
    kernel = Kernel.start(project, env=secrets)
    try:
        kernel.run("%load_ext trackrun")
        cell = "%%track_run --detach\nimport os\nprint(sorted(k for k in os.environ if k in ('JUPYTER_TOKEN', 'MY_API_KEY', 'PLAIN_SETTING')))"
        run_id = _run_id(stdout_of(kernel.run(cell)))
    finally:
        kernel.shutdown()
    store = Store(project / ".trackrun", lease=0)
    assert _wait_status(store, run_id, {"finished", "failed", "lost"}) == "finished"
    run_dir = project / ".trackrun" / "runs" / run_id
    assert (run_dir / "output.log").read_text().strip() == "['MY_API_KEY', 'PLAIN_SETTING']"
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"tok-123456789" not in data and b"key-987654321" not in data, path
    assert run_dir.stat().st_mode & 0o077 == 0
    for name in (
        "run.json",
        "events.jsonl",
        "output.log",
        "job/spec.json",
        "job/inputs.pkl",
        "job/source.py",
    ):
        assert (run_dir / name).stat().st_mode & 0o077 == 0, name
