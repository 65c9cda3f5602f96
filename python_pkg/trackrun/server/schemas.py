"""The wire contract of /trackrun/api/: every answer, request body and query, as typed models.

These TypedDicts are the one declaration of the REST API: the manager builds them (mypy
checks it), ``openapi.py`` turns them into ``docs/openapi.json``, and the panel's TypeScript
types are generated from that file. Edit here, then run ``jlpm contract:generate``.
"""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time,
# and on Python 3.10 string annotations would hide NotRequired-style totality and unions.
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

#: Status of a run, as the store records it.
RunStatus = Literal["queued", "running", "finished", "failed", "killed", "lost"]
#: A metric value: non-finite numbers travel as strings so the JSON stays valid.
MetricValue = float | Literal["NaN", "Infinity", "-Infinity"] | None
#: A Vega-Lite spec, passed through untouched to the chart component.
VegaLiteSpec = dict[str, Any]
#: [package, version in the first run, version in the second run].
PackageDiff = tuple[str, str | None, str | None]

#: Aliases that get their own name in openapi.json (and in the generated TypeScript).
NAMED_TYPES: dict[str, Any] = {
    "RunStatus": RunStatus,
    "MetricValue": MetricValue,
    "VegaLiteSpec": VegaLiteSpec,
    "PackageDiff": PackageDiff,
}


# -- errors -----------------------------------------------------------------------------------
class _ErrorBody(TypedDict):
    message: str
    code: str


class ErrorBody(_ErrorBody, total=False):
    """Every error answer: ``{message, code}``; ``invalid_filter`` adds the failing column."""

    column: int


# -- status -----------------------------------------------------------------------------------
class LauncherInfo(TypedDict):
    """The launcher of detached runs inside this server."""

    pid: int
    started_at: float | None
    max_parallel: int | None
    running: list[str]


class StatusInfo(TypedDict):
    """``GET status``."""

    version: str
    store: str
    running: int
    queued: int
    launcher: LauncherInfo


# -- runs -------------------------------------------------------------------------------------
class _MetricSummary(TypedDict):
    last: MetricValue
    min: MetricValue
    max: MetricValue


class MetricSummary(_MetricSummary, total=False):
    """A metric's last, min and max; a run's detail adds the count and the last step."""

    count: int
    last_step: int | None


class _RunFields(TypedDict):
    run_id: str
    name: str
    status: RunStatus
    notebook: str | None
    note: str | None
    started_at: float | None
    ended_at: float | None
    duration: float | None
    detached: bool | None
    tags: list[str]
    params: dict[str, Any]
    metrics: dict[str, MetricSummary]


class RunRow(_RunFields):
    """One row of the run list."""

    attempts: int | None


class RunsPage(TypedDict):
    """``GET runs``: one window of the run list, sorted and filtered on the server."""

    runs: list[RunRow]
    total: int
    offset: int
    limit: int
    change_token: str


class Changes(TypedDict):
    """``GET changes``: once the store's token differs from ``since`` (or at the timeout), the
    rows that changed or appeared since then, the ids deleted, and the new token. ``reset``:
    the server cannot tell (``since`` unknown or too old, or too many changes), so refetch
    the list window; ``runs``, ``deleted`` and ``unmatched`` are then empty. With a
    ``filter``, ``runs`` holds only the changed rows that match it, and ``unmatched`` the ids
    of changed runs that do not (any more): the panel drops those from its list."""

    change_token: str
    reset: bool
    runs: list[RunRow]
    deleted: list[str]
    unmatched: list[str]


class Artifact(TypedDict):
    name: str
    size: int
    sha256: str


class Attempt(TypedDict):
    """One attempt of a detached run, from its supervisor's record."""

    attempt: int
    state: str
    exit_code: int | None
    time: float | None


class GitInfo(TypedDict, total=False):
    """The git state of the work tree when the run started."""

    commit: str | None
    branch: str | None
    dirty: bool | None
    diff: str
    diff_truncated: bool
    diff_bytes: int
    root: str


class Provenance(TypedDict, total=False):
    git: GitInfo | None
    python: dict[str, Any] | None
    hardware: dict[str, Any] | None
    packages: dict[str, str] | None
    process: dict[str, Any] | None


class SkippedOutput(TypedDict):
    name: str
    type: str
    reason: str


class Outputs(TypedDict):
    """What a detached run sent back to the kernel, and what it could not."""

    saved: list[str]
    skipped: list[SkippedOutput]


class JobInfo(TypedDict):
    """Where a detached run executes: its backend and, on a scheduler, the job's id, state
    (e.g. ``PENDING (Resources)``, ``RUNNING on node7``) and seconds spent queued."""

    backend: str
    job_id: str | None
    state: str | None
    queue_wait: float | None


class Health(TypedDict):
    """What the run's writers last said about themselves: records they could not store
    (``dropped_records``), and, while running, seconds its main thread has made no progress
    (``stalled_for``, 0 unless stalled for at least a minute)."""

    dropped_records: int
    stalled_for: float


class RunDetail(_RunFields):
    """``GET runs/{run_id}``: the row's fields, with attempts as records, and the rest."""

    attempts: list[Attempt]
    cell_id: str | None
    host: str | None
    pid: int | None
    user: str | None
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    error: str | None
    created_at: float | None
    artifacts: list[Artifact]
    code_files: list[str]
    outputs: Outputs | None
    provenance: Provenance | None
    launch: dict[str, Any] | None
    job: JobInfo | None
    health: Health
    # Declared in the reproductions block at the end of this file.
    reproduction: "ReproductionInfo | None"


class SeriesPoints(TypedDict):
    steps: list[int]
    values: list[MetricValue]
    wall_times: list[float]


class MetricSeries(TypedDict):
    """``GET runs/{run_id}/metrics``: downsampled series per metric key."""

    run_id: str
    series: dict[str, SeriesPoints]


class LogChunk(TypedDict):
    """``GET runs/{run_id}/log``: the log from ``offset``; poll again from ``next_offset``."""

    text: str
    offset: int
    next_offset: int
    size: int
    live: bool
    status: RunStatus


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


class Killed(TypedDict):
    run_id: str
    status: RunStatus


class Deleted(TypedDict):
    run_id: str
    deleted: bool


class Rerun(TypedDict):
    run_id: str


class FilterKeys(TypedDict):
    """``GET keys``: the names the filter box completes, from the store: params and metric
    keys, and tags (each sorted, at most MAX_KEYS of each)."""

    params: list[str]
    metrics: list[str]
    tags: list[str]


class TrashedRun(TypedDict):
    """A run in the store's trash: restorable until it is deleted for good."""

    run_id: str
    name: str | None
    notebook: str | None
    created_at: float | None
    deleted_at: float


class TrashList(TypedDict):
    """``GET trash``: the runs in the trash, newest deletion first."""

    runs: list[TrashedRun]


class Restored(TypedDict):
    run_id: str
    restored: bool


class Tags(TypedDict):
    run_id: str
    tags: list[str]


# -- request bodies ---------------------------------------------------------------------------
class RerunRequest(TypedDict, total=False):
    """Overrides of the names the cell reads from the notebook."""

    params: dict[str, Any]


class TagsRequest(TypedDict, total=False):
    add: list[str]
    remove: list[str]


class RunEditRequest(TypedDict, total=False):
    """``PATCH runs/{run_id}``: a new name (1-200 characters, one line) and/or a new note
    (at most 10,000 characters; ``""`` clears it). At least one of the two."""

    name: str
    note: str


# -- query strings (every parameter optional; list[str] is comma-separated) -------------------
class RunsQuery(TypedDict, total=False):
    filter: str
    order_by: str
    limit: int
    offset: int


class ChangesQuery(TypedDict, total=False):
    since: str
    timeout: int
    filter: str


class DeleteQuery(TypedDict, total=False):
    force: bool


class SeriesQuery(TypedDict, total=False):
    keys: list[str]
    max_points: int


class LogQuery(TypedDict, total=False):
    offset: int
    max_bytes: int


class CompareQuery(TypedDict, total=False):
    ids: list[str]


#: Path parameters of the routes, with the values each accepts.
# -- media ------------------------------------------------------------------------------------
class MediaItem(TypedDict):
    """One image of a run: its key and step, its size in pixels, and where to get the PNG
    (``url``, relative to /trackrun/api/)."""

    key: str
    step: int
    width: int
    height: int
    url: str


class MediaList(TypedDict):
    """``GET runs/{run_id}/media``: the run's images and figures, by key then step."""

    run_id: str
    media: list[MediaItem]


PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "run_id": {"type": "string", "description": "a full run id, e.g. 20261126-031302-7f3a9c"},
    "folder": {"type": "string", "enum": ["code", "artifacts", "checkpoints"]},
    "name": {"type": "string", "description": "a file name inside that folder"},
    "key": {"type": "string", "description": "a media folder, as in a MediaItem's url"},
    "step": {"type": "integer", "minimum": 0, "description": "the step of the image"},
}


@dataclass(frozen=True)
class Operation:
    """One method of one route: what it takes and what it answers.

    ``answer`` is a model above, or None for a file (raw bytes of ``media_type``).
    """

    summary: str
    answer: Any
    query: Any = None
    body: Any = None
    status: int = 200
    errors: tuple[int, ...] = (400, 404)
    not_modified: bool = False
    media_type: str = "application/octet-stream"


# -- reproductions (POST runs/{run_id}/reproduce; RunDetail.reproduction) ---------------------
#: The verdict of a reproduction (docs/reproduce.md, "The verdict").
ReproductionVerdictName = Literal["identical", "within tolerance", "different"]
NAMED_TYPES["ReproductionVerdictName"] = ReproductionVerdictName


class ReproductionVerdict(TypedDict):
    """The last verdict recorded on a run, as the original or as the reproduction: the two
    runs' ids, ``text`` as the CLI prints it (``within tolerance (max rel. diff 3e-06, rtol
    0.0001)``), the largest relative difference over every paired metric point (null when
    the curves could not be paired), the tolerance, why it is not identical, and when."""

    verdict: ReproductionVerdictName
    text: str
    original: str
    reproduction: str
    max_rel_diff: MetricValue
    rtol: float | None
    reasons: list[str]
    at: float | None


class ReproductionInfo(TypedDict):
    """``reproduction`` of a run's detail (null: never reproduced, none running).

    ``state``: ``running`` (started from this server at ``started_at``; poll the detail),
    ``failed`` (``message`` says why in plain words; ``started_at`` is when it was tried) or
    ``done``. ``last``: the last verdict recorded on the run, also while running or after a
    failure (an earlier reproduction's)."""

    state: Literal["running", "failed", "done"]
    started_at: float | None
    message: str | None
    last: ReproductionVerdict | None


class ReproductionStarted(TypedDict):
    """``POST runs/{run_id}/reproduce``: the reproduction runs in the background on the
    server, into ``<store>/reproductions/<run_id>/``; follow it in ``GET runs/{run_id}``."""

    run_id: str
    state: Literal["started"]
    started_at: float
