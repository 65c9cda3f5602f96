"""The wire's named types: aliases every resource shares, and the one error shape.

``NAMED_TYPES`` lists the aliases that get their own name in docs/openapi.json (and in the
generated TypeScript); ``openapi.py`` recognizes each by identity, so every model uses
these objects, never a copy of their definition.
"""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, Literal, TypedDict

#: Status of a run, as the store records it.
RunStatus = Literal["queued", "running", "finished", "failed", "killed", "lost"]
#: A metric value: non-finite numbers travel as strings so the JSON stays valid.
MetricValue = float | Literal["NaN", "Infinity", "-Infinity"] | None
#: A Vega-Lite spec, passed through untouched to the chart component.
VegaLiteSpec = dict[str, Any]
#: [package, version in the first run, version in the second run].
PackageDiff = tuple[str, str | None, str | None]
#: The verdict of a reproduction (docs/reproduce.md, "The verdict").
ReproductionVerdictName = Literal["identical", "within tolerance", "different"]

#: Aliases that get their own name in openapi.json (and in the generated TypeScript).
NAMED_TYPES: dict[str, Any] = {
    "RunStatus": RunStatus,
    "MetricValue": MetricValue,
    "VegaLiteSpec": VegaLiteSpec,
    "PackageDiff": PackageDiff,
    "ReproductionVerdictName": ReproductionVerdictName,
}


class _ErrorBody(TypedDict):
    message: str
    code: str


class ErrorBody(_ErrorBody, total=False):
    """Every error answer: ``{message, code}``; ``invalid_filter`` adds the failing column."""

    column: int
