"""Detached runs, in one place: freezing a cell into a job, submitting it to a backend,
supervising it, killing it, and reading its outputs back.

The rest of trackrun (the API, the CLI, the magic, the server) calls only what this module
exports; only ``jobs/`` spawns, signals or supervises a job process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.errors import TrackrunError
from trackrun.events import append_event
from trackrun.jobs.backends import Backend, Handle, JobState, backend_of, get_backend, store_of
from trackrun.jobs.drainer import Drainer
from trackrun.jobs.environment import missing_in_server, without_jupyter_credentials
from trackrun.jobs.freeze import (
    FrozenInputs,
    clone,
    freeze_inputs,
    load_outputs,
    read_spec,
    write_job,
)
from trackrun.jobs.kill import kill
from trackrun.jobs.launch_records import forget, prune_records, remember
from trackrun.jobs.merge import attach_outputs
from trackrun.jobs.queue import live_drainer
from trackrun.jobs.slots import store_max_parallel, visible_gpus
from trackrun.jobs.sweep import Sweep, SweepError, new_seed, parse_sweep
from trackrun.jobs.sweep_runs import (
    SweepRecord,
    create_points,
    find_sweep,
    kill_sweep,
    list_sweeps,
    new_sweep,
    set_job_fields,
)
from trackrun.layout import RunPaths, StorePaths, read_json_object
from trackrun.signing import store_key

if TYPE_CHECKING:
    from trackrun.store import Store

#: The backend a detached run goes to when neither the cell nor the project names one.
DEFAULT_BACKEND = "local"


def submit(
    run_dir: Path, backend: str | None = None, slurm_options: dict[str, str] | None = None
) -> Handle:
    """Submit the queued run at ``run_dir`` (its job already written); return its handle.

    ``backend`` is a backend name; None means the project config's (``[tool.trackrun]`` in
    pyproject.toml or ``<store>/config.toml``), else ``local``. ``local`` means this machine:
    the run joins the store's queue, drained by the live Jupyter server when there is one
    (slots, GPUs), else by a queue runner started here on demand (``jobs/queue_runner.py``),
    within the store-wide ``max_parallel``. ``slurm_options`` (sbatch options, over the
    project config's) are saved with the job for the ``slurm`` backend.

    Raises TrackrunError (ConfigError, SlurmError...) when the backend is unknown or refuses
    the run; the run is then recorded ``failed`` with that message, so nothing is left
    queued or running.
    """
    return submit_many([run_dir], backend=backend, slurm_options=slurm_options)[0]


def submit_many(
    run_dirs: Sequence[Path],
    parallel: int | None = None,
    backend: str | None = None,
    slurm_options: dict[str, str] | None = None,
) -> list[Handle]:
    """Submit several queued runs at once (a sweep); at most ``parallel`` run together.

    Locally the limit is each job's ``parallel`` in its spec (written by the sweep), which
    whichever drainer serves the store applies; other backends get ``parallel`` through
    their own ``submit_many`` (SLURM: one job array with ``%parallel``). Errors as
    :func:`submit`: every run is recorded ``failed`` when the backend refuses them.
    """
    from trackrun.config import resolve_backend  # tomllib: only when submitting
    from trackrun.jobs.queue_runner import enqueue, ensure_drainer

    if not run_dirs:
        return []
    store = store_of(run_dirs[0])
    runs = [RunPaths(d) for d in run_dirs]
    try:
        name, options = resolve_backend(store.root, backend)
        if name == "slurm":
            from trackrun.jobs.backends.slurm import write_options

            for run in runs:
                write_options(run, {**options, **(slurm_options or {})})
        if name != "local":
            chosen = get_backend(name, store)
            if len(runs) == 1:  # one run is one plain job (SLURM: job 95, not array task 95_0)
                return [chosen.submit(runs[0])]
            return chosen.submit_many(runs, parallel)
    except TrackrunError as error:
        for run in runs:
            append_event(run.events_of("observer"), "status", status="failed", error=str(error))
        raise
    handles = []
    for run in runs:
        handle = Handle("local", run.run_id)
        handle.save(run)  # before queueing: the drainer's own handle must win
        enqueue(store.root, run.run_id)
        handles.append(handle)
    ensure_drainer(store, [run.run_id for run in runs])
    return handles


def read_launch(run: RunPaths) -> dict[str, Any]:
    """The run's name and launch record (``{"name", "sweep", ...}``) from its run.json;
    empty for a run folder without one."""
    record = read_json_object(run.run_json)
    if not record:
        return {}
    launch = record.get("launch")
    return {**(launch if isinstance(launch, dict) else {}), "name": record.get("name")}


def run_queue(store: StorePaths, max_parallel: int | None = None) -> bool:
    """Drain ``store``'s queue in this process (``trackrun queue run``); see queue_runner."""
    from trackrun.jobs.queue_runner import run_queue as drain

    return drain(store, max_parallel)


def queued(store: StorePaths) -> list[str]:
    """Ids of the runs waiting in ``store``'s queue, oldest first."""
    from trackrun.jobs.queue_runner import queued as waiting

    return waiting(store)


def check_backend(store_root: Path, backend: str, options: dict[str, str]) -> None:
    """Refuse a backend that cannot take runs before any run is recorded: an unknown name,
    SLURM tools missing, a partition the cluster does not have, a store key this user
    cannot read (the job's pickles are signed with it). Raises TrackrunError."""
    store_key(store_root)
    get_backend(backend, StorePaths(store_root))
    if backend == "slurm":
        from trackrun.jobs.backends.slurm import SlurmBackend

        SlurmBackend(StorePaths(store_root)).check(options)


def reconcile(store: Store, judge_only: bool = False) -> dict[str, JobState]:
    """Ask the cluster scheduler about the store's active runs and record what it says (see
    ``jobs/reconciler.py``); with ``judge_only``, only about queued runs and runs whose
    heartbeats stopped. Returns its answers by run id. Never raises for a scheduler
    problem."""
    from trackrun.jobs.reconciler import reconcile as _reconcile

    return _reconcile(store, judge_only=judge_only)


def describe(store: Store, run_id: str, ask: bool = True) -> dict[str, Any] | None:
    """Backend facts of a detached run for display: backend, job id, scheduler state,
    queue wait; None for a run that was never submitted to a backend. ``ask=False`` reports
    the scheduler's last saved answer without asking it again."""
    from trackrun.jobs.reconciler import describe as _describe

    return _describe(store, run_id, ask)


__all__ = [
    "without_jupyter_credentials",
    "Backend",
    "DEFAULT_BACKEND",
    "Drainer",
    "FrozenInputs",
    "Handle",
    "JobState",
    "Sweep",
    "SweepError",
    "SweepRecord",
    "attach_outputs",
    "backend_of",
    "check_backend",
    "clone",
    "create_points",
    "describe",
    "find_sweep",
    "forget",
    "freeze_inputs",
    "get_backend",
    "kill",
    "kill_sweep",
    "list_sweeps",
    "live_drainer",
    "load_outputs",
    "missing_in_server",
    "new_seed",
    "new_sweep",
    "parse_sweep",
    "prune_records",
    "queued",
    "read_launch",
    "read_spec",
    "reconcile",
    "remember",
    "run_queue",
    "set_job_fields",
    "store_max_parallel",
    "submit",
    "submit_many",
    "visible_gpus",
    "write_job",
]
