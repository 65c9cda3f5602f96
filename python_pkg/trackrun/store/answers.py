"""Remembered answers: an LRU of query results per Store, handed out as copies."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from trackrun.table import Table

#: Answers remembered per Store (LRU), and at most this many cells among them.
CACHE_ENTRIES = 64
CACHE_CELLS = 2_000_000


class _Cached:
    """A remembered answer; ``nested``: Table columns whose values may be lists or dicts."""

    __slots__ = ("cells", "nested", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.nested: tuple[str, ...] = ()
        self.cells = 1


class Answers:
    """Results of queries by key, forgotten all at once when the index changes."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[Any, ...], _Cached] = OrderedDict()
        self._cells = 0
        #: Grows at every clear(): a change counter of what this process can answer.
        self.version = 0

    def get(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        """(True, a copy of the answer) when remembered, else (False, None)."""
        cached = self._cache.get(key)
        if cached is None:
            return False, None
        self._cache.move_to_end(key)
        return True, _copy(cached)

    def put(self, key: tuple[Any, ...], value: Any) -> Any:
        """Remember ``value`` for ``key``; returns a copy of it for the caller."""
        cached = _Cached(value)
        if isinstance(value, Table):
            cached.nested = tuple(
                n for n in value.column_names if n == "tags" or n.startswith("params.")
            )
            cached.cells = len(value) * max(1, len(value.column_names))
        elif isinstance(value, dict):
            cached.cells = 1 + len(value)
        self._remember(key, cached)
        return _copy(cached)

    def clear(self) -> None:
        self._cache.clear()
        self._cells = 0
        self.version += 1

    def _remember(self, key: tuple[Any, ...], cached: _Cached) -> None:
        if cached.cells > CACHE_CELLS // 4:
            return
        old = self._cache.pop(key, None)
        if old is not None:
            self._cells -= old.cells
        self._cache[key] = cached
        self._cells += cached.cells
        while len(self._cache) > CACHE_ENTRIES or self._cells > CACHE_CELLS:
            _, dropped = self._cache.popitem(last=False)
            self._cells -= dropped.cells


def _copy(cached: _Cached) -> Any:
    """A copy of a remembered answer that the caller may change freely."""
    value = cached.value
    if isinstance(value, Table):
        nested = cached.nested
        return Table(
            {
                name: _copy_nested(column) if name in nested else list(column)
                for name, column in value.columns.items()
            }
        )
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy_nested(column: list[Any]) -> list[Any]:
    scalars = _SCALARS
    return [
        v
        if type(v) in scalars
        else list(v)
        if type(v) is list and all(type(x) is str for x in v)
        else copy.deepcopy(v)
        for v in column
    ]
