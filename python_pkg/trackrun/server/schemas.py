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
    """``GET runs``: one window of the run list, sorted and filtered on the server.

    With ``group_sweeps``, the list is made of lines: each sweep's runs are ONE line, at the
    place of its first run in this order (that run's row stands for the sweep), followed by
    its runs when the sweep is in ``expand``. ``sweep_lines`` are the indexes in ``runs`` of
    the lines that stand for a sweep (always empty without ``group_sweeps``), and ``total``
    counts lines."""

    runs: list[RunRow]
    sweep_lines: list[int]
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
    group_sweeps: bool
    expand: list[str]


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


# -- sweeps (issue 13: a sweep's runs in the panel) ---------------------------------------------
# Kept together at the end of the file: GET sweeps, GET sweeps/{sweep_id}, POST .../kill.
class SweepCounts(TypedDict):
    """A sweep's runs by state: done = finished; failed = failed, killed or lost."""

    queued: int
    running: int
    done: int
    failed: int


class SweepSummary(TypedDict):
    """One sweep of ``GET sweeps``. ``metric`` and ``goal`` are the sweep's
    (``--sweep-metric``, ``--sweep-goal``); ``best_run_id`` and ``best_value`` the best last
    value of ``metric`` so far among its runs that did not fail (null without a metric or a
    value). ``total`` counts its runs in the store."""

    sweep_id: str
    name: str
    metric: str | None
    goal: Literal["max", "min"]
    created: float
    total: int
    counts: SweepCounts
    best_run_id: str | None
    best_value: float | None


class SweepList(TypedDict):
    """``GET sweeps``: every sweep of the store, newest first."""

    sweeps: list[SweepSummary]


class SweepGroup(TypedDict):
    """Runs of a sweep with the same swept params except the seed. ``n``, ``mean`` and
    ``sd`` are over the final values of ``metric`` of its finished runs (``sd`` needs 2);
    ``missing``: its runs without one (queued, running, failed, or never logged it)."""

    label: str
    params: dict[str, Any]
    run_ids: list[str]
    n: int
    mean: float | None
    sd: float | None
    missing: int


class SweepTest(TypedDict):
    """Welch's t-test of the best group (by mean, toward the goal) against the runner-up:
    ``difference`` is best minus runner-up, ``ci_low``..``ci_high`` its 95 % confidence
    interval, ``df`` the Welch-Satterthwaite degrees of freedom. The numbers are null when
    the test cannot run; ``message`` then says why (else it states the result)."""

    metric: str
    best: str
    runner_up: str
    n_best: int
    n_runner_up: int
    mean_best: float | None
    mean_runner_up: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    p_value: float | None
    message: str


class SweepPoint(TypedDict):
    """One run of a sweep for the params-against-metric chart: its swept params and the
    last value of the metric (null when it logged none)."""

    run_id: str
    name: str
    params: dict[str, Any]
    value: MetricValue
    status: RunStatus


class SweepDetail(SweepSummary):
    """``GET sweeps/{sweep_id}``: the sweep's record and its comparison on ``metric`` (the
    one asked for, else the sweep's, else the first its runs logged). ``swept``: the names
    the sweep varies; ``group_by``: those without the seed; ``metrics``: every metric its
    runs logged. ``test`` is null with fewer than two groups holding a value."""

    text: str
    parallel: int | None
    seed: int | None
    samples: int | None
    backend: str
    swept: list[str]
    group_by: list[str]
    metrics: list[str]
    groups: list[SweepGroup]
    test: SweepTest | None
    points: list[SweepPoint]


class SweepKilled(TypedDict):
    """``POST sweeps/{sweep_id}/kill``: the queued runs cancelled, then the running ones
    killed (run ids)."""

    sweep_id: str
    cancelled: list[str]
    killed: list[str]


class SweepQuery(TypedDict, total=False):
    metric: str
    goal: str


PATH_PARAMETERS["sweep_id"] = {
    "type": "string",
    "description": "a sweep id, e.g. sw-20261130-004957-2c2066",
}
