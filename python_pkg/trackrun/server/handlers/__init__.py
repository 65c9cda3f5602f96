"""REST handlers under /trackrun/api/, one module per resource, and the table of their routes.

Handlers are thin and authenticated (see base.py); the logic is in manager.py. Each handler
declares its ``operations`` (schemas.Operation per HTTP method): the query and body it reads
and the model it answers. openapi.py publishes exactly these, for the routes of ``ROUTES``.
"""

from __future__ import annotations

import re

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler
from trackrun.server.handlers.files import MediaFileHandler, MediaListHandler, RunFileHandler
from trackrun.server.handlers.jobs import KillHandler, RerunHandler
from trackrun.server.handlers.reproduce import ReproduceHandler
from trackrun.server.handlers.run import (
    ChartHandler,
    LogHandler,
    MetricsHandler,
    RunHandler,
    TagsHandler,
)
from trackrun.server.handlers.store import (
    ChangesHandler,
    CompareHandler,
    KeysHandler,
    RunsHandler,
    StatusHandler,
)
from trackrun.server.handlers.sweeps import SweepHandler, SweepKillHandler, SweepsHandler
from trackrun.server.handlers.trash import RestoreHandler, TrashedRunHandler, TrashHandler

#: (path relative to /trackrun/api/, handler): every route of the extension. Placeholders
#: are the path parameters of schemas.PATH_PARAMETERS.
ROUTES: list[tuple[str, type[TrackrunHandler]]] = [
    ("status", StatusHandler),
    ("changes", ChangesHandler),
    ("runs", RunsHandler),
    ("runs/{run_id}", RunHandler),
    ("runs/{run_id}/metrics", MetricsHandler),
    ("runs/{run_id}/chart", ChartHandler),
    ("runs/{run_id}/log", LogHandler),
    ("runs/{run_id}/media", MediaListHandler),
    ("runs/{run_id}/media/{key}/{step}.png", MediaFileHandler),
    ("runs/{run_id}/{folder}/{name}", RunFileHandler),
    ("compare", CompareHandler),
    ("runs/{run_id}/kill", KillHandler),
    ("runs/{run_id}/rerun", RerunHandler),
    ("runs/{run_id}/reproduce", ReproduceHandler),
    ("runs/{run_id}/tags", TagsHandler),
    ("keys", KeysHandler),
    ("trash", TrashHandler),
    ("trash/{run_id}", TrashedRunHandler),
    ("trash/{run_id}/restore", RestoreHandler),
    ("sweeps", SweepsHandler),
    ("sweeps/{sweep_id}", SweepHandler),
    ("sweeps/{sweep_id}/kill", SweepKillHandler),
]


def route_pattern(path: str) -> str:
    """The tornado regex of a route: each placeholder becomes a named group (digits for an
    integer one), and the text between them (such as ``.png``) is matched literally."""
    pieces = []
    for piece in re.split(r"(\{\w+\})", path):
        if not (piece.startswith("{") and piece.endswith("}")):
            pieces.append(re.escape(piece))
            continue
        name = piece[1:-1]
        schema = s.PATH_PARAMETERS[name]
        values = schema.get("enum")
        pattern = "[0-9]+" if schema["type"] == "integer" else "[^/]+"
        pieces.append(f"(?P<{name}>{'|'.join(values) if values else pattern})")
    return "".join(pieces)
