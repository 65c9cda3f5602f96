"""How a route declares itself to the contract: its operations, and its path parameters.

Each handler class lists an ``Operation`` per method; ``openapi.py`` reads them with the
route table (``handlers/__init__.py``) and ``PATH_PARAMETERS`` to write each path's entry.
"""

from dataclasses import dataclass
from typing import Any

#: Path parameters of the routes, with the values each accepts.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "run_id": {"type": "string", "description": "a full run id, e.g. 20261126-031302-7f3a9c"},
    "folder": {"type": "string", "enum": ["code", "artifacts", "checkpoints"]},
    "name": {"type": "string", "description": "a file name inside that folder"},
    "key": {"type": "string", "description": "a media folder, as in a MediaItem's url"},
    "step": {"type": "integer", "minimum": 0, "description": "the step of the image"},
    "sweep_id": {"type": "string", "description": "a sweep id, e.g. sw-20261130-004957-2c2066"},
}


@dataclass(frozen=True)
class Operation:
    """One method of one route: what it takes and what it answers.

    ``answer`` is a model of this package, or None for a file (raw bytes of ``media_type``).
    """

    summary: str
    answer: Any
    query: Any = None
    body: Any = None
    status: int = 200
    errors: tuple[int, ...] = (400, 404)
    not_modified: bool = False
    media_type: str = "application/octet-stream"
