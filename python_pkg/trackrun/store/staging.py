"""Staging rows for DuckDB: Python columns handed over as list parameters or numpy arrays."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

# Rows reach DuckDB as columns: the points of large chunks are already in a temporary
# table (fastread reads them there with DuckDB's own JSON reader); other rows go as
# registered numpy arrays for big batches, or as list parameters unnested in SQL for small
# ones in a process that has not imported numpy (its import costs more than converting a
# few thousand values). Never pyarrow: its array constructor imports pandas.

#: Up to this many values (and with numpy not imported yet), columns go as list parameters.
LIST_STAGING_LIMIT = 50_000
SQL_TYPES = {"str": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN"}
Columns = dict[str, tuple[str, list[Any]]]


def use_numpy(values: int) -> bool:
    return "numpy" in sys.modules or values > LIST_STAGING_LIMIT


def clean(kind: str, values: list[Any]) -> list[Any]:
    """``values`` as the column kind (str, float, int, bool) wants them; None stays NULL."""
    if kind == "float" and all(type(v) is float for v in values):
        return values
    convert = _CONVERTERS[kind]
    return [None if v is None else convert(v) for v in values]


def _to_str(value: Any) -> str:
    return value if type(value) is str else json.dumps(value, default=str)


def _to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _to_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**63) <= number < 2**63 else None


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": _to_str,
    "float": _to_float,
    "int": _to_int,
    "bool": bool,
}


def numpy_column(kind: str, values: list[Any]) -> Any:
    import numpy as np

    if kind == "float" and None not in values:
        return np.array(values, dtype=np.float64)  # (numpy would make None a NaN, not NULL)
    if kind == "int" and None not in values:
        return np.array(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@contextlib.contextmanager
def stage(
    con: Any, name: str, columns: Columns, arrays: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Make ``columns`` (name -> (kind, cleaned values)), or ready numpy ``arrays``,
    selectable for the duration of the block.

    Yields the relation to select from (a registered view's name, or a subquery) and the
    named parameters that relation needs in every statement that uses it.
    """
    if arrays is None and not use_numpy(sum(len(v) for _, v in columns.values())):
        selects = ", ".join(
            f'unnest(${name}_{i}::{SQL_TYPES[kind]}[]) AS "{column}"'
            for i, (column, (kind, _)) in enumerate(columns.items())
        )
        params = {f"{name}_{i}": values for i, (_, values) in enumerate(columns.values())}
        yield f"(SELECT {selects})", params
        return
    if arrays is None:
        arrays = {column: numpy_column(kind, values) for column, (kind, values) in columns.items()}
    con.register(name, arrays)
    try:
        yield name, {}
    finally:
        con.unregister(name)


def insert(con: Any, table_name: str, columns: Columns) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with stage(con, "_staging", columns) as (staged, params):
        con.execute(f"INSERT INTO {table_name} ({names}) SELECT {names} FROM {staged}", params)
