"""What the kernel launched each detached run with: for every input pickle's memo index, a
reference to the kernel object it was, so that attach can merge the job's state back into
that very object (``merge.py``).

References are weak where the type allows, held in this process only, never in the store.
A record is dropped once its run is attached, or when it can never be attached: its run
folder is gone (deleted) or the run ended without outputs (:func:`prune_records`, at each
launch and attach), so it never keeps kernel objects alive for nothing.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrun.events import read_events
from trackrun.layout import TERMINAL_STATUSES, RunPaths

#: Values that are their own value: never remembered, and a merge hands them on as they are.
SCALARS = (type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis))
#: Values that cannot change in place: nothing of theirs can go stale.
_IMMUTABLE = (*SCALARS, tuple, frozenset, type, types.ModuleType)


@dataclass
class _Record:
    """What the kernel launched run ``run_id`` with: its folder, and input memo index ->
    reference to the kernel object."""

    run_dir: Path | None
    refs: dict[int, Callable[[], Any]]


_RECORDS: dict[str, _Record] = {}


def _linkable(obj: Any) -> bool:
    """Kernel objects worth remembering: all that can change in place (a merge puts state
    into them, or rebinds them and says so), functions included; not immutable values
    nor bound methods (rebuilt on the merged object instead)."""
    return not isinstance(obj, (*_IMMUTABLE, types.BuiltinFunctionType, types.MethodType))


def remember(
    run_id: str, objects: Mapping[int, Any], roots: list[Any], run_dir: Path | None = None
) -> None:
    """Remember, for run ``run_id`` (folder ``run_dir``), the kernel object behind each
    input memo index; drops the records :func:`prune_records` finds stale first.

    Objects are held weakly (``del model`` in the kernel still frees it, GPU memory
    included). Those that cannot be (lists, dicts, many C objects) are held strongly until
    attach only when named in the notebook (``roots``); nested ones (a module's parameter
    dict) are not remembered, their loaded copies are rewired to the kernel's merged
    objects instead.
    """
    prune_records()
    named = {id(root) for root in roots}
    refs: dict[int, Callable[[], Any]] = {}
    for index, obj in objects.items():
        if not _linkable(obj):
            continue
        try:
            refs[index] = weakref.ref(obj)
        except TypeError:
            if id(obj) in named:
                refs[index] = _Strong(obj)
    _RECORDS[run_id] = _Record(run_dir, refs)


def forget(run_id: str) -> None:
    """Drop the launch record of ``run_id``: attached, deleted, or ended without outputs."""
    _RECORDS.pop(run_id, None)


def prune_records() -> list[str]:
    """Drop the launch records that can never be used: their run folder is gone (deleted,
    moved to the trash) or the run ended without outputs (failed, killed). Returns the run
    ids dropped. Reads only the run folders' files, never the index."""
    dropped = []
    for run_id, record in list(_RECORDS.items()):
        folder = record.run_dir
        if folder is None:
            continue
        if not folder.is_dir() or _ended_without_outputs(RunPaths(folder)):
            _RECORDS.pop(run_id, None)
            dropped.append(run_id)
    return dropped


#: Bytes read from the end of each status-bearing event file: a final status is the last
#: thing its writer appends, and a long run's heartbeats make these files grow.
_STATUS_TAIL = 64 * 1024


def _ended_without_outputs(paths: RunPaths) -> bool:
    """Whether the run at ``paths`` has a final status and saved no outputs. Looks at the
    supervisor's and observers' event files (not the metrics in ``events.jsonl``)."""
    if (paths.job / "outputs.pkl").exists():
        return False
    last: tuple[float, str] | None = None
    for path in paths.event_files():
        if path == paths.events:
            continue
        try:
            start = max(0, path.stat().st_size - _STATUS_TAIL)
        except FileNotFoundError:
            continue
        for event in read_events(path, start)[0]:  # a cut first line is skipped as bad
            if event.get("type") == "status":
                when = float(event.get("time") or 0.0)
                if last is None or when >= last[0]:
                    last = (when, str(event.get("status")))
    return last is not None and last[1] in TERMINAL_STATUSES


def recorded(run_id: str) -> bool:
    """Whether this process launched ``run_id`` and still holds its record."""
    return run_id in _RECORDS


def take_refs(run_id: str) -> dict[int, Callable[[], Any]]:
    """Drop the launch record of ``run_id`` and return its references: input memo index ->
    a call that gives the kernel object (None once it was freed). Empty without a record:
    another kernel launched the run, or it was never launched from this one."""
    record = _RECORDS.pop(run_id, None)
    return record.refs if record is not None else {}


class _Strong:
    """A strong reference with a weak one's call, for a named object that has no weak one."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj
