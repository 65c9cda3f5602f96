"""The store as a whole on the wire: ``GET status`` (runs under way, the launcher) and
``GET keys`` (the names the filter box completes)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import TypedDict


class LauncherInfo(TypedDict):
    """The launcher of detached runs inside this server."""

    pid: int
    started_at: float | None
    max_parallel: int | None
    running: list[str]


class StatusInfo(TypedDict):
    """``GET status``."""

    version: str
    store: str
    running: int
    queued: int
    launcher: LauncherInfo


class FilterKeys(TypedDict):
    """``GET keys``: the names the filter box completes, from the store: params and metric
    keys, and tags (each sorted, at most MAX_KEYS of each)."""

    params: list[str]
    metrics: list[str]
    tags: list[str]
