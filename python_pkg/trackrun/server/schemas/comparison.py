"""Runs compared on the wire: ``GET compare`` (params, final metrics, a chart, code and
package diffs)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, TypedDict

from trackrun.server.schemas.common import PackageDiff, VegaLiteSpec
from trackrun.server.schemas.runs import RunRow


class Table(TypedDict):
    columns: list[str]
    rows: list[list[Any]]


class CodeDiff(TypedDict):
    cell: str
    notebook: str


class Comparison(TypedDict):
    """``GET compare``: code and package diffs compare the first two ids."""

    runs: list[RunRow]
    params_diff: Table
    params_all: Table
    summary: Table
    chart: VegaLiteSpec
    code_diff: CodeDiff | None
    packages: list[PackageDiff]


class CompareQuery(TypedDict, total=False):
    ids: list[str]
