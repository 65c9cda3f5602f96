"""The wire contract of /trackrun/api/: every answer, request body and query, as typed models.

These TypedDicts are the one declaration of the REST API: the manager builds them (mypy
checks it), ``openapi.py`` turns them into ``docs/openapi.json``, and the panel's TypeScript
types are generated from that file. Edit them, then run ``jlpm contract:generate``.

One module per resource; this face hands on every model, so code reads them as
``from trackrun.server import schemas as s`` and ``s.RunDetail``:

- ``common``: the named aliases (``NAMED_TYPES``) and the error body;
- ``operations``: ``Operation`` (what a route's method takes and answers), ``PATH_PARAMETERS``;
- ``store``: status and filter keys; ``runs``: rows, the list window, the change feed;
- ``run_detail``: one run; ``run_data``: its series, log and media;
- ``actions``: kill, delete, rerun, tags, edits; ``trash``; ``comparison``;
- ``reproductions``; ``sweeps``.

The modules never use ``from __future__ import annotations``: openapi.py reads their
annotations at run time, and on Python 3.10 string annotations would hide NotRequired-style
totality and unions.
"""

from trackrun.server.schemas.actions import (
    Deleted,
    DeleteQuery,
    Killed,
    Rerun,
    RerunRequest,
    RunEditRequest,
    Tags,
    TagsRequest,
)
from trackrun.server.schemas.common import (
    NAMED_TYPES,
    ErrorBody,
    MetricValue,
    PackageDiff,
    ReproductionVerdictName,
    RunStatus,
    VegaLiteSpec,
)
from trackrun.server.schemas.comparison import CodeDiff, CompareQuery, Comparison, Table
from trackrun.server.schemas.operations import PATH_PARAMETERS, Operation
from trackrun.server.schemas.reproductions import (
    ReproductionInfo,
    ReproductionStarted,
    ReproductionVerdict,
)
from trackrun.server.schemas.run_data import (
    LogChunk,
    LogQuery,
    MediaItem,
    MediaList,
    MetricSeries,
    SeriesPoints,
    SeriesQuery,
)
from trackrun.server.schemas.run_detail import (
    Artifact,
    Attempt,
    GitInfo,
    Health,
    JobInfo,
    Outputs,
    Provenance,
    RunDetail,
    SkippedOutput,
)
from trackrun.server.schemas.runs import (
    Changes,
    ChangesQuery,
    MetricSummary,
    RunRow,
    RunsPage,
    RunsQuery,
)
from trackrun.server.schemas.store import FilterKeys, LauncherInfo, StatusInfo
from trackrun.server.schemas.sweeps import (
    SweepCounts,
    SweepDetail,
    SweepGroup,
    SweepKilled,
    SweepList,
    SweepPoint,
    SweepQuery,
    SweepSummary,
    SweepTest,
)
from trackrun.server.schemas.trash import Restored, TrashedRun, TrashList

__all__ = [
    "NAMED_TYPES",
    "PATH_PARAMETERS",
    "Artifact",
    "Attempt",
    "Changes",
    "ChangesQuery",
    "CodeDiff",
    "CompareQuery",
    "Comparison",
    "DeleteQuery",
    "Deleted",
    "ErrorBody",
    "FilterKeys",
    "GitInfo",
    "Health",
    "JobInfo",
    "Killed",
    "LauncherInfo",
    "LogChunk",
    "LogQuery",
    "MediaItem",
    "MediaList",
    "MetricSeries",
    "MetricSummary",
    "MetricValue",
    "Operation",
    "Outputs",
    "PackageDiff",
    "Provenance",
    "ReproductionInfo",
    "ReproductionStarted",
    "ReproductionVerdict",
    "ReproductionVerdictName",
    "Rerun",
    "RerunRequest",
    "Restored",
    "RunDetail",
    "RunEditRequest",
    "RunRow",
    "RunStatus",
    "RunsPage",
    "RunsQuery",
    "SeriesPoints",
    "SeriesQuery",
    "SkippedOutput",
    "StatusInfo",
    "SweepCounts",
    "SweepDetail",
    "SweepGroup",
    "SweepKilled",
    "SweepList",
    "SweepPoint",
    "SweepQuery",
    "SweepSummary",
    "SweepTest",
    "Table",
    "Tags",
    "TagsRequest",
    "TrashList",
    "TrashedRun",
    "VegaLiteSpec",
]
