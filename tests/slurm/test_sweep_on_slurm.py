"""A sweep launched from a cell on the real SLURM cluster: one job array, ``--parallel`` as its
``%N`` limit, and the store's own queue left out of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trackrun.jobs.backends import Handle
from trackrun.jobs.sweep_runs import list_sweeps
from trackrun.layout import TERMINAL_STATUSES, StorePaths
from trackrun.store import Store

from ..kernels import Kernel, error_of, stdout_of
from ..notebooks import make_git_project
from ..sweep.conftest import max_overlap
from .conftest import scontrol, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CELL = """%%track_run --sweep "k=range(3)" --parallel 2 --on slurm --name arr
import time, trackrun
time.sleep(3)
trackrun.log(square=k * k, step=0)
"""


def test_a_sweep_from_a_cell_is_one_slurm_array_within_its_parallel_limit(
    cluster: Path, store_root: Path, tmp_path: Path
) -> None:
    project = make_git_project(tmp_path / "project")
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        messages = kernel.run(CELL)
        text = stdout_of(messages)
        assert error_of(messages) is None, text
        match = re.search(
            r"3 detached runs queued as SLURM job array (\d+), at most 2 at once", text
        )
        assert match, text
        array_id = match.group(1)
        # The %2 reached SLURM (the node's 2 CPUs alone would also cap it at 2).
        assert "ArrayTaskThrottle=2" in scontrol("show", "job", array_id)
    finally:
        kernel.shutdown()
    store = Store(store_root, lease=0)
    ids = list(store.runs("sweep:arr")["run_id"])
    assert len(ids) == 3

    def ended() -> bool:
        return all(s in TERMINAL_STATUSES for s in store.runs("sweep:arr")["status"])

    wait_until(ended, "the sweep's 3 runs to end", timeout=180)
    rows = store.runs("sweep:arr")
    assert list(rows["status"]) == ["finished"] * 3
    assert sorted(zip(rows["params.k"], rows["metrics.square"], strict=True)) == [
        (0, 0),
        (1, 1),
        (2, 4),
    ]
    assert max_overlap(store, ids) <= 2
    paths = StorePaths(store_root)
    (record,) = list_sweeps(paths)
    assert record.backend == "slurm" and record.parallel == 2
    for index, run_id in enumerate(record.run_ids):  # point order is array task order
        handle = Handle.load(paths.run(run_id))
        assert handle is not None and handle.backend == "slurm"
        assert handle.ident["array_job_id"] == array_id
        assert handle.ident["job_id"] == f"{array_id}_{index}"
        launch = json.loads(paths.run(run_id).run_json.read_text())["launch"]
        assert launch["backend"] == "slurm" and launch["sweep"]["index"] == index
    # SLURM is the queue: nothing went through the store's own.
    assert not (store_root / "queue-runner.log").exists()
    queue = store_root / "queue"
    assert not queue.exists() or not list(queue.iterdir())
