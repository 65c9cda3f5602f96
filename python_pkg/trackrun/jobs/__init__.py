"""Detached runs, in one place: freezing a cell into a job, submitting it to a backend,
supervising it, killing it, and reading its outputs back.

The rest of trackrun (the API, the CLI, the magic, the server) calls only what this module
exports; only ``jobs/`` spawns, signals or supervises a job process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trackrun.jobs.backends import Backend, Handle, JobState, backend_of, get_backend, store_of
from trackrun.jobs.drainer import Drainer
from trackrun.jobs.freeze import (
    FrozenInputs,
    clone,
    freeze_inputs,
    load_outputs,
    read_spec,
    write_job,
)
from trackrun.jobs.kill import kill
from trackrun.jobs.sweep import Sweep, SweepError, parse_sweep
from trackrun.jobs.sweep_runs import SweepRecord, find_sweep, kill_sweep, list_sweeps
from trackrun.layout import RunPaths, StorePaths

#: The backend a detached run goes to when neither the cell nor the project names one.
DEFAULT_BACKEND = "local"


def submit(run_dir: Path, backend: str | None = None) -> Handle:
    """Submit the queued run at ``run_dir`` (its job already written); return its handle.

    ``backend`` is a backend name; None or ``"local"`` means this machine: the run joins the
    store's queue, drained by the live Jupyter server when there is one, else by a queue
    runner started here on demand (``jobs/queue_runner.py``), within the store-wide
    ``max_parallel``. Raises TrackrunError for an unknown backend, and whatever the chosen
    backend raises when it refuses the run (nothing is started then).
    """
    return submit_many([run_dir], backend=backend)[0]


def submit_many(
    run_dirs: Sequence[Path], parallel: int | None = None, backend: str | None = None
) -> list[Handle]:
    """Submit several queued runs at once (a sweep); at most ``parallel`` run together.

    Locally the limit is each job's ``parallel`` in its spec (written by the sweep), which
    whichever drainer serves the store applies; other backends get ``parallel`` through
    their own ``submit_many`` (SLURM: one job array with ``%parallel``). Errors as
    :func:`submit`.
    """
    from trackrun.jobs.queue_runner import enqueue, ensure_drainer

    if not run_dirs:
        return []
    store = store_of(run_dirs[0])
    name = backend or DEFAULT_BACKEND
    if name != "local":
        return get_backend(name, store).submit_many([RunPaths(d) for d in run_dirs], parallel)
    handles = []
    for run_dir in run_dirs:
        run = RunPaths(run_dir)
        handle = Handle("local", run.run_id)
        handle.save(run)  # before queueing: the drainer's own handle must win
        enqueue(store.root, run.run_id)
        handles.append(handle)
    ensure_drainer(store, [RunPaths(d).run_id for d in run_dirs])
    return handles


def run_queue(store: StorePaths, max_parallel: int | None = None) -> bool:
    """Drain ``store``'s queue in this process (``trackrun queue run``); see queue_runner."""
    from trackrun.jobs.queue_runner import run_queue as drain

    return drain(store, max_parallel)


def queued(store: StorePaths) -> list[str]:
    """Ids of the runs waiting in ``store``'s queue, oldest first."""
    from trackrun.jobs.queue_runner import queued as waiting

    return waiting(store)


__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "Drainer",
    "FrozenInputs",
    "Handle",
    "JobState",
    "backend_of",
    "clone",
    "freeze_inputs",
    "get_backend",
    "kill",
    "load_outputs",
    "read_spec",
    "Sweep",
    "SweepError",
    "SweepRecord",
    "find_sweep",
    "kill_sweep",
    "list_sweeps",
    "parse_sweep",
    "queued",
    "run_queue",
    "submit",
    "submit_many",
    "write_job",
]
