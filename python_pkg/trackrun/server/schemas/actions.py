"""Changing one run over the wire: kill, delete (to the trash), rerun, tags, a new name or
note; the request bodies and the short answers."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, TypedDict

from trackrun.server.schemas.common import RunStatus


class Killed(TypedDict):
    run_id: str
    status: RunStatus


class Deleted(TypedDict):
    run_id: str
    deleted: bool


class DeleteQuery(TypedDict, total=False):
    force: bool


class Rerun(TypedDict):
    run_id: str


class RerunRequest(TypedDict, total=False):
    """Overrides of the names the cell reads from the notebook."""

    params: dict[str, Any]


class Tags(TypedDict):
    run_id: str
    tags: list[str]


class TagsRequest(TypedDict, total=False):
    add: list[str]
    remove: list[str]


class RunEditRequest(TypedDict, total=False):
    """``PATCH runs/{run_id}``: a new name (1-200 characters, one line) and/or a new note
    (at most 10,000 characters; ``""`` clears it). At least one of the two."""

    name: str
    note: str
