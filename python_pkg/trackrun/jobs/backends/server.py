"""The server backend: hand a queued run to the live Jupyter server's queue drainer.

The drainer (``jobs/drainer.py``, driven by the Jupyter server) starts accepted runs within its slots and GPUs,
with the same supervisor as the local backend; state and cancel are therefore the local
backend's (cancelling a run that still waits in the drainer's queue withdraws it).
"""

from __future__ import annotations

from typing import ClassVar

from trackrun.errors import TrackrunError
from trackrun.jobs.backends import Handle
from trackrun.jobs.backends.local import LocalBackend
from trackrun.jobs.queue import hand_over
from trackrun.layout import RunPaths


class HandOverRefused(TrackrunError):
    """No live drainer accepted the run in time; the caller may start it locally."""


class ServerBackend(LocalBackend):
    """Queues runs for the live Jupyter server of the store (which applies slots and GPUs)."""

    name: ClassVar[str] = "server"

    def submit(self, run: RunPaths) -> Handle:
        """Offer the run to the live drainer. Raises HandOverRefused when none accepted it."""
        if not hand_over(self.store.root, run.run_id):
            raise HandOverRefused(f"no live Jupyter server took run {run.run_id}")
        handle = Handle(self.name, run.run_id)
        handle.save(run)
        return handle


BACKEND = ServerBackend
