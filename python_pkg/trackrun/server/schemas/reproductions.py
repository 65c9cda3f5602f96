"""Reproductions on the wire: ``POST runs/{run_id}/reproduce``, and the ``reproduction`` a
run's detail carries (the state of one under way, the last verdict recorded)."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Literal, TypedDict

from trackrun.server.schemas.common import MetricValue, ReproductionVerdictName


class ReproductionVerdict(TypedDict):
    """The last verdict recorded on a run, as the original or as the reproduction: the two
    runs' ids, ``text`` as the CLI prints it (``within tolerance (max rel. diff 3e-06, rtol
    0.0001)``), the largest relative difference over every paired metric point (null when
    the curves could not be paired), the tolerance, why it is not identical, and when."""

    verdict: ReproductionVerdictName
    text: str
    original: str
    reproduction: str | None
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
