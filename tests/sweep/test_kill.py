"""Stopping sweeps from the command line: `trackrun kill SWEEP` and `trackrun queue clear --sweep`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackrun.jobs.backends.local import SupervisorRecord
from trackrun.layout import StorePaths
from trackrun.store import Store

from ..kernels import Kernel, stdout_of
from ..notebooks import make_git_project
from .conftest import attempts_started, wait_all_ended, wait_until

pytestmark = pytest.mark.slow

BLOCKING = (
    '%%track_run --sweep "k=range({n})" --parallel 1 --name {name}\n'
    "import pathlib, time\nx = k\nwhile not pathlib.Path(go).exists():\n    time.sleep(0.05)\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    yield make_git_project(tmp_path / "project")
    (tmp_path / "go").write_text("")  # let anything left over end


def _cli(project: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "--store", str(project / ".trackrun"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _launch(project: Path, name: str, n: int) -> tuple[Store, list[str]]:
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        kernel.run(f"go = {str(project.parent / 'go')!r}")
        assert "queued" in stdout_of(kernel.run(BLOCKING.format(n=n, name=name)))
    finally:
        kernel.shutdown()
    store = Store(project / ".trackrun", lease=0)
    ids = list(store.runs(f"sweep:{name}")["run_id"])
    assert len(ids) == n
    wait_until(lambda: "running" in store.runs(f"sweep:{name}")["status"], 120, "a run to start")
    return store, ids


def test_kill_sweep_cancels_queued_runs_and_kills_the_running_one(project: Path) -> None:
    store, ids = _launch(project, "doomed", 4)
    out = _cli(project, "kill", "doomed")
    assert "sweep doomed: cancelled 3 queued and killed 1 running run(s)" in out
    assert set(wait_all_ended(store, ids).values()) == {"killed"}
    paths = StorePaths(project / ".trackrun")
    assert sorted(attempts_started(paths.run(r)) for r in ids) == [0, 0, 0, 1]
    assert not any(SupervisorRecord.read(paths.run(r)).supervisor_alive() for r in ids)
    assert "the queue is empty" in _cli(project, "queue")


def test_queue_clear_cancels_only_that_sweeps_queued_runs(project: Path) -> None:
    # Two slots: each sweep (--parallel 1) has one run running and the rest queued.
    (project / "pyproject.toml").write_text("[tool.trackrun]\nmax_parallel = 2\n")
    store, ids = _launch(project, "half", 3)
    _, other = _launch(project, "other", 2)
    listing = _cli(project, "queue")
    assert "3 queued; drained by pid" in listing
    assert listing.count("half-") == 2 and listing.count("other-") == 1
    assert "cancelled 2 queued run(s)" in _cli(project, "queue", "clear", "--sweep", "half")
    assert sorted(_statuses(store, "half").values()) == ["killed", "killed", "running"]
    assert sorted(_statuses(store, "other").values()) == ["queued", "running"]
    listing = _cli(project, "queue")
    assert "1 queued; drained by pid" in listing and "half-" not in listing
    (project.parent / "go").write_text("")
    assert sorted(wait_all_ended(store, ids).values()) == ["finished", "killed", "killed"]
    assert sorted(wait_all_ended(store, other).values()) == ["finished", "finished"]


def _statuses(store: Store, sweep: str) -> dict[str, str]:
    rows = store.runs(f"sweep:{sweep}")
    return dict(zip(rows["run_id"], rows["status"], strict=True))
