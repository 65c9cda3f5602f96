"""%%track_run --sweep in real kernels: the grid, the live server, refusals, attach, random seeds."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from trackrun.jobs.backends import Handle
from trackrun.jobs.sweep_runs import list_sweeps
from trackrun.layout import StorePaths
from trackrun.store import Store

from ..kernels import JupyterServer, Kernel, stdout_of
from ..notebooks import make_git_project
from .conftest import attempts_started, max_overlap, wait_all_ended, wait_until

pytestmark = pytest.mark.slow

ENABLE = ["--ServerApp.jpserver_extensions={'trackrun': True}"]
GRID = "lr=[1e-3, 3e-3, 1e-2] hidden=[64, 128] seed=range(2)"
GRID_CELL = f"""%%track_run --sweep "{GRID}" --parallel 2 --sweep-metric score --name grid
import time, trackrun
trackrun.log(score=lr * hidden + seed, step=0)
time.sleep(0.3)
trackrun.log(score=lr * hidden + seed, step=1)
"""
EXPECTED = {(lr, h, s) for lr in (1e-3, 3e-3, 1e-2) for h in (64, 128) for s in (0, 1)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_git_project(tmp_path / "project")
    (root / "nb.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    return root


@pytest.fixture
def kernel(project: Path) -> Iterator[Kernel]:
    k = Kernel.start(project)
    k.run("%load_ext trackrun")
    yield k
    k.shutdown()


def _sweep_id(text: str) -> str:
    match = re.search(r"sweep \S+ \((sw-[0-9]{8}-[0-9]{6}-[0-9a-f]{6})\)", text)
    assert match, text
    return match.group(1)


def _check_grid(project: Path, sweep_id: str) -> tuple[Store, list[str]]:
    """The 12 runs of GRID: exact params, right metric, at most 2 at once, one sweep each."""
    store = Store(project / ".trackrun", lease=0)
    rows = store.runs("sweep:grid")
    ids = list(rows["run_id"])
    assert len(ids) == 12
    assert set(wait_all_ended(store, ids).values()) == {"finished"}
    rows = store.runs("sweep:grid")
    points = set(zip(rows["params.lr"], rows["params.hidden"], rows["params.seed"], strict=True))
    assert points == EXPECTED
    for lr, hidden, seed, score in zip(
        rows["params.lr"], rows["params.hidden"], rows["params.seed"], rows["metrics.score"],
        strict=True,
    ):  # fmt: skip
        assert score == pytest.approx(lr * hidden + seed)  # each run saw its own point
    assert max_overlap(store, ids) <= 2  # --parallel 2 held
    assert sorted(store.runs(f"sweep = {sweep_id}")["run_id"]) == sorted(ids)
    paths = StorePaths(project / ".trackrun")
    for run_id in ids:
        launch = json.loads(paths.run(run_id).run_json.read_text())["launch"]
        assert launch["sweep"]["id"] == sweep_id and launch["sweep"]["name"] == "grid"
        assert attempts_started(paths.run(run_id)) == 1
    return store, ids


def test_grid_sweep_without_a_server_then_attach_loads_the_best(
    project: Path, kernel: Kernel
) -> None:
    launched = kernel.run(GRID_CELL)
    text = stdout_of(launched)
    assert "12 detached runs queued, at most 2 at once" in text
    # the sweep's view is one display updated in place, never a widget (no saved state)
    kinds = {k for m in launched for k in m.get("content", {}).get("data", {})}
    assert "text/html" in kinds and not any("widget" in k for k in kinds)
    sweep_id = _sweep_id(text)
    kernel.run("_names = {n for n in globals() if not n.startswith('_')}")
    followed = stdout_of(kernel.run("%track_run --attach grid", timeout=300))
    assert "0 queued, 0 running, 12 done, 0 failed" in followed
    # Without --load, following a sweep to its end loads nothing into the notebook.
    new = "print(sorted({n for n in globals() if not n.startswith('_')} - _names))"
    assert stdout_of(kernel.run(new)).strip() == "[]"
    attached = stdout_of(kernel.run("%track_run --attach grid --load best", timeout=300))
    assert "0 queued, 0 running, 12 done, 0 failed" in attached
    best = re.search(r"best run (\S+) \(score = ([0-9.]+)\)", attached)
    assert best and float(best.group(2)) == pytest.approx(1e-2 * 128 + 1)
    assert stdout_of(kernel.run("print(lr, hidden, seed)")).split() == ["0.01", "128", "1"]
    loaded = set(ast.literal_eval(stdout_of(kernel.run(new))))
    assert {"lr", "hidden", "seed"} <= loaded  # the probe above does see loaded names
    _check_grid(project, sweep_id)
    assert (project / ".trackrun" / "queue-runner.log").exists()  # the runner drained it


def test_grid_sweep_with_a_live_server(project: Path) -> None:
    server = JupyterServer.start(project, extra_args=[*ENABLE, "--TrackrunServer.max_parallel=4"])
    try:
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        sweep_id = _sweep_id(stdout_of(server.run(kernel_id, GRID_CELL)))
        store, ids = _check_grid(project, sweep_id)
        paths = StorePaths(project / ".trackrun")
        assert {Handle.load(paths.run(r)).backend for r in ids} == {"server"}  # type: ignore[union-attr]
        assert not (project / ".trackrun" / "queue-runner.log").exists()
    finally:
        server.stop()


@pytest.mark.parametrize("who", ["queue-run", "next-launch", "new-server"])
def test_runs_queued_when_the_server_stops_are_started_by_the_next_drainer(
    project: Path, who: str
) -> None:
    """Runs left queued by a stopped server are started by `trackrun queue run`, by the
    next detached run launched from a kernel, or by the next server: each exactly once."""
    args = [*ENABLE, "--TrackrunServer.max_parallel=1"]
    server = JupyterServer.start(project, extra_args=args)
    cell = (
        '%%track_run --sweep "k=range(3)" --name left\nimport time, trackrun\n'
        "time.sleep(1.5)\ntrackrun.log(k=k, step=0)\n"
    )
    root = project / ".trackrun"
    store = Store(root, lease=0)
    try:
        kernel_id = server.start_kernel("nb.ipynb")
        server.run(kernel_id, "%load_ext trackrun")
        _sweep_id(stdout_of(server.run(kernel_id, cell)))
        ids = list(store.runs("sweep:left")["run_id"])
        wait_until(lambda: "running" in store.runs("sweep:left")["status"], 60, "a run to start")
    finally:
        server.stop()
    first = wait_until(
        lambda: [r for r, s in _statuses(store, "sweep:left").items() if s == "finished"],
        60,
        "the running run to finish without its server",
    )
    assert len(first) == 1
    assert sorted(_statuses(store, "sweep:left").values()) == ["finished", "queued", "queued"]
    assert "2 queued; no drainer" in _cli(root, "queue")
    if who == "queue-run":
        assert "the queue is empty" in _cli(root, "queue", "run")
    elif who == "next-launch":
        kernel = Kernel.start(project)
        try:
            kernel.run("%load_ext trackrun")
            text = stdout_of(kernel.run("%%track_run --detach --name next\nx = 1\n"))
            assert "detached run next" in text, text
        finally:
            kernel.shutdown()
        ids.append(str(store.runs("name = next")["run_id"][0]))
    else:
        server = JupyterServer.start(project, extra_args=args)
    try:
        assert set(wait_all_ended(store, ids).values()) == {"finished"}
    finally:
        server.stop()
    paths = StorePaths(root)
    assert all(attempts_started(paths.run(r)) == 1 for r in ids)
    assert "the queue is empty" in _cli(root, "queue")


def _cli(store_root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "--store", str(store_root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _statuses(store: Store, text: str) -> dict[str, str]:
    rows = store.runs(text)
    return dict(zip(rows["run_id"], rows["status"], strict=True))


@pytest.mark.parametrize(
    ("setup", "cell", "words"),
    [
        (
            "",
            '%%track_run --sweep "lr=[1e-3, 1e-2"\nx = lr',
            "unclosed '[' (missing ']') (column 4)",
        ),
        ("", '%%track_run --sweep "lr=[1e-3] epochs=[1, 2]"\nx = lr', "does not read 'epochs'"),
        ("", '%%track_run --sweep "lr=[1e-3] seed=range(0)"\nx = lr + seed', "range(0) is empty"),
        ("", '%%track_run --sweep "a=range(101) b=range(100)"\nx = a + b', "10,100 points"),
        ("", '%%track_run --sweep "lr=uniform(0, 1)"\nx = lr', "add --sweep-random N"),
        ("", "%%track_run --parallel 2\nx = 1", "--parallel only apply with --sweep"),
        (
            "import threading\nlock = threading.Lock()",
            '%%track_run --sweep "lr=[1, 2, 3]"\nwith lock:\n    x = lr',
            "cannot detach this cell",
        ),
        (
            "",
            '%%track_run --sweep "lr=[1, 2]"\n%matplotlib widget\nx = lr',
            "%matplotlib widget, which need the notebook frontend",
        ),
    ],
    ids=[
        "grammar",
        "unread-name",
        "empty-grid",
        "too-many",
        "random-without-n",
        "option",
        "freeze",
        "frontend-magic",
    ],
)
def test_bad_input_is_refused_before_anything_launches(
    project: Path, kernel: Kernel, setup: str, cell: str, words: str
) -> None:
    if setup:
        kernel.run(setup)
    text = stdout_of(kernel.run(cell))
    assert words in text
    assert text.count("UsageError") == 1  # once, not once per point
    runs = project / ".trackrun" / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    assert not (project / ".trackrun" / "sweeps").exists()


@pytest.mark.parametrize(
    ("config", "options", "words"),
    [
        ('backend = "slurm"', "", "`sbatch` is not installed"),
        ("", "--on slurm", "`sbatch` is not installed"),
        ("", '--slurm "time=00:05:00"', "--slurm only applies to the SLURM backend"),
        ("", "--on nowhere", "unknown jobs backend 'nowhere'"),
    ],
    ids=["project-config", "on-slurm", "slurm-options-on-local", "unknown-backend"],
)
def test_the_sweeps_backend_is_resolved_and_checked_before_anything_is_written(
    project: Path, tmp_path: Path, config: str, options: str, words: str
) -> None:
    if config:
        (project / "pyproject.toml").write_text(f"[tool.trackrun]\n{config}\n")
    empty = tmp_path / "no-slurm-here"
    empty.mkdir()
    k = Kernel.start(project)
    try:
        k.run(f"%load_ext trackrun\nimport os\nos.environ['PATH'] = {str(empty)!r}")
        text = stdout_of(k.run(f'%%track_run --sweep "k=range(3)" {options}\nx = k'))
    finally:
        k.shutdown()
    assert words in text and text.count("UsageError") == 1, text
    runs = project / ".trackrun" / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    assert not (project / ".trackrun" / "sweeps").exists()


def test_random_sweep_with_a_fixed_seed_gives_the_same_points_twice(
    project: Path, kernel: Kernel
) -> None:
    cell = (
        "%%track_run --sweep \"lr=loguniform(1e-4, 1e-1) opt=choice(['a', 'b'])\" "
        "--sweep-random 3 --sweep-seed 11 --name {name}\nx = (lr, opt)"
    )
    kernel.run(cell.format(name="r1"))
    kernel.run(cell.format(name="r2"))
    paths = StorePaths(project / ".trackrun")
    records = [asdict(r) for r in list_sweeps(paths)]  # oldest first
    assert [r["name"] for r in records] == ["r1", "r2"]
    assert records[0]["points"] == records[1]["points"] and len(records[0]["points"]) == 3
    assert records[0]["seed"] == 11
    store = Store(paths.root, lease=0)
    ids = [run_id for record in records for run_id in record["run_ids"]]
    assert set(wait_all_ended(store, ids).values()) == {"finished"}
    seen = []
    for name in ("r1", "r2"):
        rows = store.runs(f"sweep:{name}")
        seen.append(sorted(zip(rows["params.lr"], rows["params.opt"], strict=True)))
    assert seen[0] == seen[1] == sorted((p["lr"], p["opt"]) for p in records[0]["points"])
