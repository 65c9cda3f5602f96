"""One run on the wire: ``GET runs/{run_id}``, the row's fields with everything else the
store knows of the run (attempts, artifacts, provenance, its job, its health)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, TypedDict

from trackrun.server.schemas.reproductions import ReproductionInfo
from trackrun.server.schemas.runs import RunFields


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


class RunDetail(RunFields):
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
    reproduction: ReproductionInfo | None
