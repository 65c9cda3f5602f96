"""Detached runs, in one place: freezing a cell into a job, submitting it to a backend,
supervising it, killing it, and reading its outputs back.

The rest of trackrun (the API, the CLI, the magic, the server) calls only what this module
exports; only ``jobs/`` spawns, signals or supervises a job process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trackrun.errors import TrackrunError
from trackrun.events import append_event
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
from trackrun.layout import RunPaths, StorePaths
from trackrun.store import Store

#: The backend a detached run goes to when neither the cell nor the project names one.
DEFAULT_BACKEND = "local"


def submit(
    run_dir: Path, backend: str | None = None, slurm_options: dict[str, str] | None = None
) -> Handle:
    """Submit the queued run at ``run_dir`` (its job already written); return its handle.

    ``backend`` is a backend name; None means the project config's (``[tool.trackrun]`` in
    pyproject.toml or ``<store>/config.toml``), else ``local``. ``local`` means this machine:
    the store's live Jupyter server takes the run into its queue (slots, GPUs) when there is
    one, else this process starts the supervisor itself. ``slurm_options`` (sbatch options,
    over the project config's) are saved with the job for the ``slurm`` backend.

    Raises TrackrunError (ConfigError, SlurmError...) when the backend is unknown or refuses
    the run; the run is then recorded ``failed`` with that message, so nothing is left
    queued or running.
    """
    from trackrun.config import resolve_backend  # tomllib: only when submitting
    from trackrun.jobs.backends.server import HandOverRefused

    run = RunPaths(run_dir)
    store = store_of(run_dir)
    try:
        name, options = resolve_backend(store.root, backend)
        if name == "local":
            try:
                return get_backend("server", store).submit(run)
            except HandOverRefused:
                pass
        elif name == "slurm":
            from trackrun.jobs.backends.slurm import write_options

            write_options(run, {**options, **(slurm_options or {})})
        return get_backend(name, store).submit(run)
    except TrackrunError as error:
        append_event(run.events_of("observer"), "status", status="failed", error=str(error))
        raise


def check_backend(store_root: Path, backend: str, options: dict[str, str]) -> None:
    """Refuse a backend that cannot take runs before any run is recorded: an unknown name,
    SLURM tools missing, a partition the cluster does not have. Raises TrackrunError."""
    get_backend(backend, StorePaths(store_root))
    if backend == "slurm":
        from trackrun.jobs.backends.slurm import SlurmBackend

        SlurmBackend(StorePaths(store_root)).check(options)


def reconcile(store: Store) -> dict[str, JobState]:
    """Ask the cluster scheduler about runs whose heartbeats stopped and record what it
    says (see ``jobs/reconcile.py``); returns its answers by run id. Never raises for a
    scheduler problem."""
    from trackrun.jobs.reconcile import reconcile as _reconcile

    return _reconcile(store)


def describe(store: Store, run_id: str) -> dict[str, Any] | None:
    """Backend facts of a detached run for display: backend, job id, scheduler state,
    queue wait; None for a run that was never submitted to a backend."""
    from trackrun.jobs.reconcile import describe as _describe

    return _describe(store, run_id)


__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "Drainer",
    "FrozenInputs",
    "Handle",
    "JobState",
    "backend_of",
    "check_backend",
    "clone",
    "describe",
    "freeze_inputs",
    "get_backend",
    "kill",
    "load_outputs",
    "read_spec",
    "reconcile",
    "submit",
    "write_job",
]
