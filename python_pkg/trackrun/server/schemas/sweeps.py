"""Sweeps on the wire: ``GET sweeps`` (each with its progress and best value so far),
``GET sweeps/{sweep_id}`` (one sweep compared on a metric) and ``POST sweeps/{sweep_id}/kill``."""

# No ``from __future__ import annotations``: openapi.py reads these annotations at run time.
from typing import Any, Literal, TypedDict

from trackrun.server.schemas.common import MetricValue, RunStatus


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
