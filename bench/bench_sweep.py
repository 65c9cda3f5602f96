"""Overhead of a sweep point: from the %%track_run --sweep cell starting to each point's first
log line, without a server (queue runner) and with a live Jupyter server.

    PYTHONPATH=python_pkg:. python3 bench/bench_sweep.py [POINTS]

A one-point sweep warms each kernel up first (the first sweep of a kernel also pays for
importing cloudpickle and jupytext, ~4 s on a loaded 2-core machine). Each point's cell logs as its first statement, so the time measured is trackrun's: freezing,
cloning, queueing, starting the drainer, the supervisor and the job's interpreter. Points
run one at a time (--parallel 1), so no point waits behind another for a slot.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.kernels import JupyterServer, Kernel, stdout_of
from tests.notebooks import make_git_project
from trackrun.events import iter_events

ENABLE = ["--ServerApp.jpserver_extensions={'trackrun': True}"]


def cell(points: int, name: str = "measured") -> str:
    return (
        f'%%track_run --sweep "k=range({points})" --parallel 1 --name {name}\n'
        "import trackrun\ntrackrun.log(k=k, step=0)\n"
    )


def overheads(project: Path, launched_at: float) -> list[float]:
    """Per point: first log line minus the moment its slot came free (the launch, or the
    previous point's end)."""
    store = project / ".trackrun"
    records = [json.loads(p.read_text()) for p in (store / "sweeps").iterdir()]
    (record,) = [r for r in records if r["name"] == "measured"]
    ended: dict[str, tuple[float, float]] = {}
    for run_id in record["run_ids"]:
        run = store / "runs" / run_id
        deadline = time.time() + 120
        while True:
            statuses = [
                e for e in iter_events(run / "events.supervisor.jsonl") if e.get("type") == "status"
            ]
            if statuses and statuses[-1].get("status") == "finished":
                break
            if time.time() > deadline:
                raise SystemExit(f"run {run_id} did not finish")
            time.sleep(0.05)
        first = next(e for e in iter_events(run / "events.jsonl") if e.get("type") == "metrics")
        ended[run_id] = (float(first["time"]), float(statuses[-1]["time"]))
    out, free_at = [], launched_at
    for first_log, end in sorted(ended.values()):
        out.append(first_log - free_at)
        free_at = end
    return out


def main() -> None:
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    with tempfile.TemporaryDirectory() as tmp:
        project = make_git_project(Path(tmp) / "a")
        kernel = Kernel.start(project)
        kernel.run("%load_ext trackrun")
        kernel.run(cell(1, "warm-up"))  # first use in a kernel imports cloudpickle, jupytext...
        kernel.run("%track_run --attach warm-up")  # and let its run end first
        started = time.time()
        stdout_of(kernel.run(cell(points)))
        returned = [time.time() - started]
        local = overheads(project, started)
        kernel.shutdown()
        project = make_git_project(Path(tmp) / "b")
        (project / "nb.ipynb").write_text(
            '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
        )
        server = JupyterServer.start(project, extra_args=ENABLE)
        try:
            kernel_id = server.start_kernel("nb.ipynb")
            server.run(kernel_id, "%load_ext trackrun")
            server.run(kernel_id, cell(1, "warm-up"))
            server.run(kernel_id, "%track_run --attach warm-up")
            started = time.time()
            server.run(kernel_id, cell(points))
            returned.append(time.time() - started)
            served = overheads(project, started)
        finally:
            server.stop()
    labels = ("no server (queue runner)", "live Jupyter server")
    for label, values, back in zip(labels, (local, served), returned, strict=True):
        print(
            f"{label}: the cell returned after {back:.2f} s; first point {values[0]:.2f} s, later points median "
            f"{statistics.median(values[1:] or values):.2f} s (per point: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
        )


if __name__ == "__main__":
    main()
