"""What detached runs on SLURM cost: submitting, the first log line, polls and reconcile passes.

    bash .ci/slurm-up && export SLURM_CONF=/tmp/trackrun-slurm/slurm.conf
    PYTHONPATH=python_pkg python3 bench/bench_slurm.py [JOBS]

Prints the SLURM version (``sbatch --version``); for JOBS jobs (7) submitted one after
another, each on an idle cluster, the time ``jobs.submit`` takes to return (it waits for the
job's marker) and the time from the submit to the cell's first line in the run's
``output.log`` (min / median / max); the median cost of one status poll
(``SlurmBackend.state``: one ``squeue``), of one batched ``squeue`` over 20 jobs and of one
``sacct`` lookup (which falls back to ``sacct -c`` without accounting storage); and the cost
of one ``jobs.reconcile`` pass over 20 active SLURM runs (2 running, the rest pending on a
2-core node). Everything lives in a temporary store, and every job it submitted is cancelled
at the end. It reports; it never fails the build.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trackrun import jobs
from trackrun.jobs import slurm_cli
from trackrun.jobs.backends import Handle
from trackrun.jobs.backends.slurm import SlurmBackend
from trackrun.jobs.reconciler import reconcile
from trackrun.layout import RunPaths
from trackrun.run import Run
from trackrun.store import Store

ACTIVE = 20


def make_job(store_root: Path, source: str) -> RunPaths:
    """A queued detached run whose frozen cell is ``source``."""
    run = Run.start(
        store_root,
        launch={"kind": "detached", "detached": True, "retries": 0, "backend": "slurm"},
        status="queued",
    )
    jobs.write_job(run.paths, source, jobs.freeze_inputs({}, []), [], None, 0, None)
    run.release()
    return run.paths


def spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low * scale:.2f}-{high * scale:.2f} {unit}, median {mid * scale:.2f} {unit}"


def median_cost(call: Callable[[], object], times: int = 20) -> float:
    """Median seconds of ``call()`` over ``times`` calls."""
    costs = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        costs.append(time.perf_counter() - began)
    return statistics.median(costs)


def wait_for(check: Callable[[], bool], timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def first_line_times(store: Store, count: int) -> tuple[list[float], list[float], RunPaths | None]:
    """Submit ``count`` jobs one after another; per job the submit's return time and the
    time to its first output line. Returns them and the last run."""
    submits, first_lines = [], []
    run = None
    backend = SlurmBackend(store.paths)
    for _ in range(count):
        run = make_job(store.root, "print('first line', flush=True)\n")
        began = time.monotonic()
        jobs.submit(run.root, "slurm")
        submits.append(time.monotonic() - began)
        log = run.output_log
        if not wait_for(lambda r=log: r.exists() and "first line" in r.read_text()):
            print(f"  (job of run {run.run_id} printed nothing within 120 s)")
            continue
        first_lines.append(time.monotonic() - began)
        # The next job starts on an idle cluster: this one's SLURM job has ended.
        handle = Handle.load(run)
        if handle is not None:
            wait_for(lambda h=handle: backend.state(h).phase in ("ended", "gone"))
    return submits, first_lines, run


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    try:
        version = slurm_cli.call(["sbatch", "--version"]).stdout.strip()
        slurm_cli.partitions()
    except slurm_cli.SlurmError as error:
        print(f"no SLURM cluster to measure: {error}")
        return
    print(f"SLURM: {version}")
    folder = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    (folder / ".trackrun").mkdir()
    store = Store(folder / ".trackrun")
    try:
        submits, first_lines, last = first_line_times(store, count)
        print(f"jobs.submit returns ({count} jobs, one after another): {spread(submits)}")
        if first_lines:
            print(f"submit -> first line in output.log: {spread(first_lines)}")

        backend = SlurmBackend(store.paths)
        finished = Handle.load(last) if last else None
        if finished is not None:
            job_id = str(finished.ident["job_id"])
            poll = median_cost(lambda: backend.state(finished))
            said = backend.state(finished)
            print(
                "status poll of a finished job (SlurmBackend.state: squeue, then sacct): "
                f"median {poll * 1000:.0f} ms ({said.detail}, per {said.extra.get('source')})"
            )
            lookup = median_cost(lambda: slurm_cli.sacct([job_id]))
            print(f"sacct lookup (sacct, then sacct -c): median {lookup * 1000:.0f} ms")

        # ACTIVE runs that stay active: 2 run on the 2-core node, the rest wait in the queue.
        go = folder / "go"
        source = f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists():\n"
        runs = [make_job(store.root, source + "    time.sleep(0.2)\n") for _ in range(ACTIVE)]
        handles = backend.submit_many(runs)
        wait_for(lambda: backend.state(handles[0]).phase == "running", timeout=60)
        poll = median_cost(lambda: backend.state(handles[0]))
        said = backend.state(handles[0])
        print(
            "status poll of a running job (SlurmBackend.state: one squeue): "
            f"median {poll * 1000:.0f} ms ({said.detail})"
        )
        ids = [str(h.ident["job_id"]) for h in handles]
        batched = median_cost(lambda: slurm_cli.squeue(ids))
        known = len(slurm_cli.squeue(ids))
        print(
            f"one batched squeue over {ACTIVE} jobs: median {batched * 1000:.0f} ms "
            f"({known} of them known to squeue)"
        )
        passes = []
        for _ in range(10):
            began = time.perf_counter()
            answers = reconcile(store)
            passes.append(time.perf_counter() - began)
        phases = sorted({a.phase for a in answers.values()})
        print(
            f"jobs.reconcile pass over {len(answers)} active SLURM runs ({', '.join(phases)}): "
            f"{spread(passes, 'ms', 1000)}"
        )
        go.write_text("")
    finally:
        job_ids = []
        for run_dir in store.paths.runs.glob("*"):
            handle = Handle.load(RunPaths(run_dir))
            job_ids += [str(i) for i in (handle.ident.get("job_ids") or [])] if handle else []
        if job_ids:
            subprocess.run(["scancel", *job_ids], capture_output=True, timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
