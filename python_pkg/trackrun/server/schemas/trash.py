"""The store's trash on the wire: ``GET trash``, and a run restored from it."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import TypedDict


class TrashedRun(TypedDict):
    """A run in the store's trash: restorable until it is deleted for good."""

    run_id: str
    name: str | None
    notebook: str | None
    created_at: float | None
    deleted_at: float


class TrashList(TypedDict):
    """``GET trash``: the runs in the trash, newest deletion first."""

    runs: list[TrashedRun]


class Restored(TypedDict):
    run_id: str
    restored: bool
