"""A run's row on the wire (RunRow in docs/openapi.json), made from a flat ``runs()`` row,
and the plain fields a row and a run's detail share."""

from __future__ import annotations

from typing import Any, cast

from trackrun.server import schemas as s
from trackrun.store.schema import LIST_COLUMNS
from trackrun.table import jsonable

#: A run row's plain fields on the wire: the listing's columns the contract declares.
ROW_FIELDS = tuple(c for c in LIST_COLUMNS if c in s.RunRow.__annotations__)


def run_row(row: dict[str, Any]) -> s.RunRow:
    """The wire form of a run row (RunRow in docs/openapi.json) from a flat runs() row."""
    params = {k[7:]: v for k, v in row.items() if k.startswith("params.")}
    keys = [
        c[8:] for c in row if c.startswith("metrics.") and f"{c}.min" in row and f"{c}.max" in row
    ]
    metrics = {
        k: {
            "last": row[f"metrics.{k}"],
            "min": row[f"metrics.{k}.min"],
            "max": row[f"metrics.{k}.max"],
        }
        for k in keys
    }
    out = {key: row.get(key) for key in ROW_FIELDS}
    out["tags"] = list(row.get("tags") or [])
    out["params"] = params
    out["metrics"] = metrics
    return cast(s.RunRow, jsonable(out))
