"""The jobs backend seam: what a backend must do, the handle it returns, and choosing one.

A backend takes a run whose frozen job is written (``job/``) and makes it execute the
supervisor somewhere: ``local`` spawns it on this machine, ``server`` hands it to the live
Jupyter server's queue drainer (slots, GPUs), ``slurm`` submits it to a SLURM cluster. The
run directory is the interface: every backend runs the same supervisor, which writes the
same files, so listing, attaching and comparing never depend on the backend.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from trackrun.errors import TrackrunError
from trackrun.layout import RunPaths, StorePaths, write_json_atomic

#: Backend names and the modules that implement them (imported only when chosen).
BACKEND_MODULES = {
    "local": "trackrun.jobs.backends.local",
    "server": "trackrun.jobs.backends.server",
    "slurm": "trackrun.jobs.backends.slurm",
}


@dataclass
class Handle:
    """How a backend finds a submitted job again: saved as ``job/handle.json``.

    ``ident`` is the backend's own name for the job (a supervisor pid and start token for
    local runs, a job id for SLURM).
    """

    backend: str
    run_id: str
    ident: dict[str, Any] = field(default_factory=dict)
    submitted_at: float = field(default_factory=time.time)

    def save(self, run: RunPaths) -> None:
        """Write this handle into the run's ``job/`` folder (atomically, private)."""
        write_json_atomic(run.job / "handle.json", dict(self.__dict__))

    @classmethod
    def load(cls, run: RunPaths) -> Handle | None:
        """The handle saved in ``run``'s job folder, or None for a run never submitted."""
        try:
            data = json.loads((run.job / "handle.json").read_text(encoding="utf-8"))
            return cls(
                backend=str(data["backend"]),
                run_id=str(data["run_id"]),
                ident=dict(data.get("ident") or {}),
                submitted_at=float(data.get("submitted_at") or 0.0),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass
class JobState:
    """What the backend knows of a job, apart from the run's own events.

    ``phase`` is one of: ``queued`` (waiting for a slot or the scheduler), ``running``,
    ``ended`` (the backend saw it end), ``gone`` (the backend says it no longer exists and
    has no record of an end), ``unknown`` (the backend could not be asked, e.g. a SLURM
    controller that does not answer). ``detail`` is a short human text (a pending reason,
    the node, the scheduler's final state).
    """

    phase: str
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What every jobs backend implements. Constructed with the store's paths."""

    name: ClassVar[str]

    def submit(self, run: RunPaths) -> Handle:
        """Start (or queue) the frozen job of ``run``; return its handle (also saved)."""
        ...

    def submit_many(self, runs: Sequence[RunPaths], parallel: int | None = None) -> list[Handle]:
        """Submit several runs at once, at most ``parallel`` running together (None: no cap)."""
        ...

    def state(self, handle: Handle) -> JobState:
        """The backend's view of the job ``handle`` names."""
        ...

    def cancel(self, handle: Handle) -> bool:
        """Ask the job to stop (its whole process tree); True when a live job was signalled."""
        ...

    def adopt(self) -> list[Handle]:
        """Handles of this backend's jobs in the store that are still alive (after a restart)."""
        ...


def get_backend(name: str, store: StorePaths) -> Backend:
    """The backend called ``name`` for ``store``. Raises TrackrunError for an unknown name."""
    module_name = BACKEND_MODULES.get(name)
    if module_name is None:
        raise TrackrunError(
            f"unknown jobs backend {name!r}; choose one of: {', '.join(sorted(BACKEND_MODULES))}"
        )
    module = importlib.import_module(module_name)
    backend: Backend = module.BACKEND(store)
    return backend


def backend_of(run: RunPaths, store: StorePaths) -> Backend:
    """The backend that owns ``run`` (from its handle; ``local`` for runs without one)."""
    handle = Handle.load(run)
    return get_backend(handle.backend if handle else "local", store)


def store_of(run_dir: Path) -> StorePaths:
    """The store that holds the run folder ``run_dir`` (``<store>/runs/<id>``)."""
    return StorePaths(run_dir.parent.parent)
