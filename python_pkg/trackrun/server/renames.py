"""Notebooks renamed or moved in JupyterLab: the runs that name them follow.

The contents manager reports each rename as an event (jupyter_server's ``contents_service``
schema). For each, the move is added to the store's record (so a kernel that still holds the
old path records the new one: ``trackrun.notebook_moves``) and every run whose notebook was
the old path, or under a moved folder, gets a ``notebook_moved`` event with its new path.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from trackrun.notebook_moves import moved_path, record_move
from trackrun.store import Store

CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"
log = logging.getLogger("trackrun")


def follow_notebook_moves(store: Store, old: Path, new: Path) -> list[str]:
    """Record that ``old`` moved to ``new`` (absolute paths) and point the runs that named
    it (or a notebook under it) at the new path; returns their ids."""
    record_move(store.root, old, new)
    moved: list[tuple[str, Path]] = []
    for row in store.runs().to_dicts():
        notebook = row.get("notebook")
        if notebook and (target := moved_path(Path(str(notebook)), old, new)) is not None:
            moved.append((str(row["run_id"]), target))
    if not moved:
        return []
    store.append_api_events(
        [(run_id, "notebook_moved", {"notebook": str(target)}) for run_id, target in moved]
    )
    return [run_id for run_id, _ in moved]


def listen_for_renames(serverapp: Any, store: Store, pool: Executor) -> bool:
    """Follow the renames the server's contents manager reports; False when it reports
    none (a contents manager without a local root, or an event logger without listeners)."""
    root = getattr(serverapp.contents_manager, "root_dir", None)
    events = getattr(serverapp, "event_logger", None)
    if not root or events is None:
        return False
    base = Path(str(root)).expanduser().resolve()

    async def on_contents_event(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("action") != "rename" or not data.get("source_path"):
            return
        old, new = base / str(data["source_path"]), base / str(data["path"])
        try:
            await asyncio.get_running_loop().run_in_executor(
                pool, follow_notebook_moves, store, old, new
            )
        except Exception as error:  # a failed follow must never break the rename itself
            log.warning("trackrun: runs could not follow %s -> %s: %s", old, new, error)

    events.add_listener(schema_id=CONTENTS_EVENTS, listener=on_contents_event)
    return True
