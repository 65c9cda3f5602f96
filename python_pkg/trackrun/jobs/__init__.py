"""Detached runs, in one place: freezing a cell into a job, submitting it to a backend,
supervising it, killing it, and reading its outputs back.

The rest of trackrun (the API, the CLI, the magic, the server) calls only what this module
exports; only ``jobs/`` spawns, signals or supervises a job process.
"""

from __future__ import annotations

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
from trackrun.layout import RunPaths

#: The backend a detached run goes to when neither the cell nor the project names one.
DEFAULT_BACKEND = "local"


def submit(run_dir: Path, backend: str | None = None) -> Handle:
    """Submit the queued run at ``run_dir`` (its job already written); return its handle.

    ``backend`` is a backend name; None or ``"local"`` means this machine: the store's live
    Jupyter server takes the run into its queue (slots, GPUs) when there is one, else this
    process starts the supervisor itself. Raises TrackrunError for an unknown backend, and
    whatever the chosen backend raises when it refuses the run (nothing is started then).
    """
    from trackrun.jobs.backends.server import HandOverRefused

    run = RunPaths(run_dir)
    store = store_of(run_dir)
    name = backend or DEFAULT_BACKEND
    if name == "local":
        try:
            return get_backend("server", store).submit(run)
        except HandOverRefused:
            pass
    return get_backend(name, store).submit(run)


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
    "submit",
    "write_job",
]
