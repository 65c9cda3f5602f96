"""Sweeps over REST: the list with progress and best values, one sweep's comparison (checked
against scipy), killing a sweep, and the run list with each sweep's runs grouped into one line.

The sweeps are made by the code the magic uses (new_sweep, write_job, create_points), and
their points are run by attaching to their run folders and logging, as a job does.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import trackrun
from tests.server.common import check_answer, get
from trackrun import jobs
from trackrun.jobs import SweepRecord, create_points, new_sweep, parse_sweep, set_job_fields
from trackrun.layout import RunPaths, StorePaths
from trackrun.run import Run

from ..sweep.conftest import attempts_started

GRID = "lr=[1e-3, 3e-3, 1e-2] hidden=[64, 128] seed=range(3)"
#: Final val_acc of the three seeds of each (lr, hidden): (3e-3, 128) is best, (1e-2, 128)
#: the runner-up.
FINALS: dict[tuple[float, int], list[float]] = {
    (1e-3, 64): [0.70, 0.72, 0.69],
    (1e-3, 128): [0.73, 0.71, 0.74],
    (3e-3, 64): [0.80, 0.78, 0.79],
    (3e-3, 128): [0.86, 0.84, 0.87],
    (1e-2, 64): [0.77, 0.79, 0.76],
    (1e-2, 128): [0.83, 0.85, 0.82],
}
SOURCE = "x = lr * hidden + seed\n"
#: A job that runs until the file ``go`` exists.
BLOCKING = (
    "import pathlib, time\nx = k\nwhile not pathlib.Path(go).exists():\n    time.sleep(0.05)\n"
)


@dataclass
class Sweep:
    record: SweepRecord
    runs: list[RunPaths]

    def run_of(self, lr: float, hidden: int, seed: int) -> str:
        point = {"lr": lr, "hidden": hidden, "seed": seed}
        return self.record.run_ids[self.record.points.index(point)]


def make_sweep(
    root: Path,
    name: str,
    text: str = GRID,
    metric: str | None = "val_acc",
    goal: str = "max",
    source: str = SOURCE,
    inputs: dict[str, Any] | None = None,
    parallel: int = 2,
) -> Sweep:
    """A sweep of ``text`` made as %%track_run --sweep makes it: every point a queued
    detached run of one frozen job of ``source`` (reading the swept names and ``inputs``),
    the record saved (nothing submitted)."""
    store = StorePaths(root)
    sweep = parse_sweep(text)
    points = sweep.expand()
    record = new_sweep(store, name, text=sweep.text, parallel=parallel, metric=metric, goal=goal)
    first = Run.start(
        root,
        name=f"{record.name}-{1:0{len(str(len(points)))}d}",  # as create_points names them
        params=points[0],
        tags=record.tags,
        launch={"kind": "detached", "detached": True, "sweep": record.launch_entry(0)},
        status="queued",
        provenance={},
    )
    values = {**(inputs or {}), **points[0]}
    frozen = jobs.freeze_inputs(values, list(values))
    jobs.write_job(first.paths, source, frozen, [], None, 0, None)
    first.release()
    set_job_fields(
        first.paths, {"overrides": points[0], "sweep": record.sweep_id, "parallel": parallel}
    )
    runs = create_points(store, first.paths, record, points)
    record.save(store)
    return Sweep(record, runs)


def play(run: RunPaths, finals: list[float], status: str = "finished") -> None:
    """Log ``val_acc`` (rising to its last value) into a queued point, then end it, as its
    job would."""
    attached = Run.attach(run.root)
    for step, value in enumerate(finals):
        attached.log({"val_acc": value, "loss": 1 - value}, step=step)
    attached.finish(status)


def play_grid(sweep: Sweep, skip: tuple[int, ...] = ()) -> None:
    """Finish every point but the indexes in ``skip`` with its value of FINALS."""
    for index, point in enumerate(sweep.record.points):
        if index not in skip:
            final = FINALS[(point["lr"], point["hidden"])][point["seed"]]
            play(sweep.runs[index], [final - 0.1, final])


def _index(sweep: Sweep, lr: float, hidden: int, seed: int) -> int:
    return sweep.record.points.index({"lr": lr, "hidden": hidden, "seed": seed})


async def test_sweeps_lists_progress_and_the_best_value_of_runs_that_did_not_fail(
    jp_fetch: Any, isolated_store: Path
) -> None:
    grid = make_sweep(isolated_store, "grid")
    queued = _index(grid, 1e-3, 64, 0)
    failed = _index(grid, 1e-3, 64, 1)
    play_grid(grid, skip=(queued, failed))
    play(grid.runs[failed], [0.5, 0.99], status="failed")  # the highest value, but failed
    losses = make_sweep(isolated_store, "losses", "lr=[0.1, 0.2]", metric="loss", goal="min")
    play(losses.runs[0], [0.6, 0.3])  # loss 0.7 (1 - 0.3)
    play(losses.runs[1], [0.6, 0.5])  # loss 0.5: the best for goal min
    with trackrun.start_run(name="alone", params={"lr": 1.0}):
        trackrun.log(val_acc=0.999)

    response = await jp_fetch("trackrun", "api", "sweeps")
    check_answer("sweeps", "get", response)
    answer = json.loads(response.body)["sweeps"]
    assert [s["name"] for s in answer] == ["losses", "grid"]  # newest first
    by_name = {s["name"]: s for s in answer}
    first = by_name["grid"]
    assert first["sweep_id"] == grid.record.sweep_id
    assert first["counts"] == {"queued": 1, "running": 0, "done": 16, "failed": 1}
    assert first["total"] == 18
    assert (first["metric"], first["goal"]) == ("val_acc", "max")
    assert first["best_run_id"] == grid.run_of(3e-3, 128, 2)
    assert first["best_value"] == pytest.approx(0.87)
    assert first["created"] == pytest.approx(grid.record.created_at)
    second = by_name["losses"]
    assert second["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 0}
    assert second["best_run_id"] == losses.record.run_ids[1]
    assert second["best_value"] == pytest.approx(0.5)


async def test_a_sweeps_comparison_matches_scipy_and_trackrun_compare(
    jp_fetch: Any, isolated_store: Path
) -> None:
    grid = make_sweep(isolated_store, "grid")
    unfinished = _index(grid, 1e-3, 64, 0)
    play_grid(grid, skip=(unfinished,))  # one point still queued: left out of its group

    response = await jp_fetch("trackrun", "api", "sweeps", grid.record.sweep_id)
    check_answer("sweeps/{sweep_id}", "get", response)
    detail = json.loads(response.body)
    assert detail["name"] == "grid" and detail["text"] == GRID
    assert detail["swept"] == ["lr", "hidden", "seed"]
    assert detail["group_by"] == ["lr", "hidden"]
    assert detail["metrics"] == ["loss", "val_acc"]
    assert (detail["metric"], detail["goal"], detail["parallel"]) == ("val_acc", "max", 2)
    assert detail["counts"] == {"queued": 1, "running": 0, "done": 17, "failed": 0}

    groups = {g["label"]: g for g in detail["groups"]}
    assert list(groups) == [  # in the order of the params' values
        "lr=0.001, hidden=64",
        "lr=0.001, hidden=128",
        "lr=0.003, hidden=64",
        "lr=0.003, hidden=128",
        "lr=0.01, hidden=64",
        "lr=0.01, hidden=128",
    ]
    for (lr, hidden), finals in FINALS.items():
        group = groups[f"lr={lr:g}, hidden={hidden}"]
        values = finals[1:] if (lr, hidden) == (1e-3, 64) else finals
        assert group["params"] == {"lr": lr, "hidden": hidden}
        assert group["n"] == len(values)
        assert group["missing"] == 3 - len(values)
        assert group["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert group["sd"] == pytest.approx(np.std(values, ddof=1), rel=1e-12)
        assert sorted(group["run_ids"]) == sorted(grid.run_of(lr, hidden, s) for s in range(3))

    test = detail["test"]
    best, runner = FINALS[(3e-3, 128)], FINALS[(1e-2, 128)]
    reference = stats.ttest_ind(best, runner, equal_var=False)
    low, high = reference.confidence_interval(0.95)
    assert (test["best"], test["runner_up"]) == ("lr=0.003, hidden=128", "lr=0.01, hidden=128")
    assert (test["n_best"], test["n_runner_up"]) == (3, 3)
    assert test["difference"] == pytest.approx(np.mean(best) - np.mean(runner), rel=1e-12)
    assert test["p_value"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert test["df"] == pytest.approx(reference.df, rel=1e-9)
    assert (test["ci_low"], test["ci_high"]) == (
        pytest.approx(low, rel=1e-9),
        pytest.approx(high, rel=1e-9),
    )

    # The notebook's compare() of the same finished runs gives the same groups.
    notebook = trackrun.compare(
        f"sweep = {grid.record.sweep_id} and status = finished",
        metrics=["val_acc"],
        group_by=["lr", "hidden"],
    )
    assert notebook.groups is not None
    for label, mean, std in zip(
        notebook.groups["group"], notebook.groups["mean"], notebook.groups["std"], strict=True
    ):
        assert groups[label]["mean"] == pytest.approx(mean, rel=1e-12)
        assert groups[label]["sd"] == pytest.approx(std, rel=1e-12)

    points = {p["run_id"]: p for p in detail["points"]}
    assert len(points) == 18
    queued = points[grid.record.run_ids[unfinished]]
    assert (queued["status"], queued["value"]) == ("queued", None)
    chosen = points[grid.run_of(1e-2, 64, 1)]
    assert chosen["params"] == {"lr": 1e-2, "hidden": 64, "seed": 1}
    assert chosen["value"] == pytest.approx(0.79) and chosen["status"] == "finished"

    lowest = await get(jp_fetch, f"sweeps/{grid.record.sweep_id}", goal="min")
    assert lowest["test"]["best"] == "lr=0.001, hidden=64"  # 2 seeds, mean 0.705
    assert lowest["test"]["runner_up"] == "lr=0.001, hidden=128"
    on_loss = await get(jp_fetch, f"sweeps/{grid.record.sweep_id}", metric="loss", goal="min")
    assert on_loss["metric"] == "loss" and on_loss["test"]["best"] == "lr=0.003, hidden=128"


async def test_a_sweep_of_seeds_only_is_one_group_without_a_test(
    jp_fetch: Any, isolated_store: Path
) -> None:
    seeds = make_sweep(isolated_store, "seeds", "lr=0.01 seed=range(3)", metric=None)
    for run, final in zip(seeds.runs, [0.5, 0.6, 0.7], strict=True):
        play(run, [final])
    summary = (await get(jp_fetch, "sweeps"))["sweeps"][0]
    assert (summary["metric"], summary["best_value"]) == (None, None)
    detail = await get(jp_fetch, f"sweeps/{seeds.record.sweep_id}")
    assert detail["swept"] == ["seed"] and detail["group_by"] == []
    assert detail["metric"] == "loss"  # none chosen: the first logged
    (group,) = detail["groups"]
    assert group["label"] == "all runs" and group["n"] == 3
    assert group["mean"] == pytest.approx(statistics.fmean([0.5, 0.4, 0.3]))
    assert detail["test"] is None


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("sweeps/grid", 400, "invalid_sweep_id"),  # a name is not an id
        ("sweeps/sw-20261130-004957-2C2066", 400, "invalid_sweep_id"),
        ("sweeps/sw-2026", 400, "invalid_sweep_id"),
        ("sweeps/sw-20991231-000000-abcdef", 404, "sweep_not_found"),
    ],
)
async def test_bad_and_unknown_sweep_ids_are_refused(
    jp_fetch: Any, isolated_store: Path, path: str, status: int, code: str
) -> None:
    make_sweep(isolated_store, "grid", "lr=[0.1, 0.2]")
    for method, route in (("GET", path), ("POST", f"{path}/kill")):
        response = await jp_fetch(
            "trackrun",
            "api",
            *route.split("/"),
            method=method,
            body=None if method == "GET" else "{}",
            raise_error=False,
        )
        assert response.code == status, (route, response.body)
        body = json.loads(response.body)
        assert body["code"] == code
        hint = "sweep ids look like sw-20261130-004957-2c2066" if status == 400 else "no sweep"
        assert hint in body["message"]


async def test_an_unknown_metric_or_goal_is_refused_with_what_there_is(
    jp_fetch: Any, isolated_store: Path
) -> None:
    grid = make_sweep(isolated_store, "grid", "lr=[0.1, 0.2]")
    play(grid.runs[0], [0.5])
    for params, words in (({"metric": "acc"}, "logged: loss, val_acc"), ({"goal": "up"}, "max")):
        response = await jp_fetch(
            "trackrun", "api", "sweeps", grid.record.sweep_id, params=params, raise_error=False
        )
        assert response.code == 400, response.body
        assert words in json.loads(response.body)["message"]


async def test_kill_sweep_cancels_its_queued_runs_only(jp_fetch: Any, isolated_store: Path) -> None:
    grid = make_sweep(isolated_store, "grid", "lr=[0.1, 0.2, 0.3]")
    other = make_sweep(isolated_store, "other", "lr=[0.1, 0.2]")
    play(grid.runs[0], [0.5])  # ended: nothing to stop
    response = await jp_fetch(
        "trackrun", "api", "sweeps", grid.record.sweep_id, "kill", method="POST", body="{}"
    )
    check_answer("sweeps/{sweep_id}/kill", "post", response)
    answer = json.loads(response.body)
    assert answer == {
        "sweep_id": grid.record.sweep_id,
        "cancelled": grid.record.run_ids[1:],
        "killed": [],
    }
    page = await get(jp_fetch, "runs", limit=100)
    status = {r["run_id"]: r["status"] for r in page["runs"]}
    assert [status[r] for r in grid.record.run_ids] == ["finished", "killed", "killed"]
    assert [status[r] for r in other.record.run_ids] == ["queued", "queued"]
    summary = {s["name"]: s for s in (await get(jp_fetch, "sweeps"))["sweeps"]}
    assert summary["grid"]["counts"] == {"queued": 0, "running": 0, "done": 1, "failed": 2}


async def _until(check: Any, what: str, timeout: float = 120) -> Any:
    """Poll the coroutine function ``check`` (never blocking the server's event loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
async def test_kill_sweep_cancels_the_queued_runs_then_kills_the_running_one(
    jp_fetch: Any, isolated_store: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    doomed = make_sweep(
        isolated_store,
        "doomed",
        "k=range(3)",
        source=BLOCKING,
        inputs={"go": str(go)},
        parallel=1,
    )
    try:
        jobs.submit_many([run.root for run in doomed.runs])  # the server's drainer starts them

        async def one_running() -> Any:
            sweeps = (await get(jp_fetch, "sweeps"))["sweeps"]
            return sweeps[0]["counts"]["running"] == 1 and sweeps[0]["counts"]

        assert await _until(one_running, "a point to run") == {
            "queued": 2, "running": 1, "done": 0, "failed": 0
        }  # fmt: skip
        page = await get(jp_fetch, "runs", filter="sweep:doomed")
        running = [r["run_id"] for r in page["runs"] if r["status"] == "running"]
        response = await jp_fetch(
            "trackrun", "api", "sweeps", doomed.record.sweep_id, "kill", method="POST", body="{}"
        )
        answer = json.loads(response.body)
        assert answer["killed"] == running
        assert sorted(answer["cancelled"]) == sorted(set(doomed.record.run_ids) - set(running))

        async def all_killed() -> bool:
            page = await get(jp_fetch, "runs", filter="sweep:doomed")
            return {r["status"] for r in page["runs"]} == {"killed"}

        await _until(all_killed, "every point to be recorded killed")
        started = [attempts_started(run) for run in doomed.runs]
        assert sorted(started) == [0, 0, 1]  # the cancelled ones never started
    finally:
        go.write_text("")


def _lines(page: dict[str, Any]) -> list[str]:
    """A page's lines: a sweep's line as ``sweep:<name of its run>``, a run as its name."""
    header = set(page["sweep_lines"])
    return [
        f"sweep:{row['name']}" if i in header else row["name"] for i, row in enumerate(page["runs"])
    ]


async def test_runs_grouped_by_sweep_are_one_line_each_expanded_on_demand(
    jp_fetch: Any, isolated_store: Path
) -> None:
    alone = []
    with trackrun.start_run(name="before") as run:
        trackrun.log(val_acc=0.1)
    alone.append(run.run_id)
    grid = make_sweep(isolated_store, "grid", "lr=[0.1, 0.2, 0.3]")
    for index, final in enumerate([0.4, 0.9, 0.6]):
        play(grid.runs[index], [final])
    small = make_sweep(isolated_store, "small", "lr=[0.1, 0.2]")
    play(small.runs[0], [0.3], status="failed")
    with trackrun.start_run(name="after"):
        trackrun.log(val_acc=0.2)

    plain = await get(jp_fetch, "runs")
    assert plain["sweep_lines"] == [] and plain["total"] == 7
    by_acc = {"order_by": "metrics.val_acc desc"}
    grouped = await get(jp_fetch, "runs", group_sweeps="true", **by_acc)
    # A sweep sits where its first run in this order would; its queued run has no value.
    assert _lines(grouped) == ["sweep:grid-2", "sweep:small-1", "after", "before"]
    assert grouped["total"] == 4
    opened = await get(jp_fetch, "runs", group_sweeps="true", expand=grid.record.sweep_id, **by_acc)
    assert _lines(opened) == [
        "sweep:grid-2", "grid-2", "grid-3", "grid-1", "sweep:small-1", "after", "before"
    ]  # fmt: skip
    both = ",".join([grid.record.sweep_id, small.record.sweep_id])
    whole = await get(jp_fetch, "runs", group_sweeps="true", expand=both, **by_acc)
    assert whole["total"] == 9 and _lines(whole)[4:7] == ["sweep:small-1", "small-1", "small-2"]
    for offset in range(0, 9, 2):  # windows are slices of the same lines
        window = await get(
            jp_fetch, "runs", group_sweeps="true", expand=both, limit=2, offset=offset, **by_acc
        )
        assert _lines(window) == _lines(whole)[offset : offset + 2], offset
        assert window["total"] == 9

    failed = await get(jp_fetch, "runs", group_sweeps="true", expand=both, filter="status = failed")
    assert _lines(failed) == ["sweep:small-1", "small-1"] and failed["total"] == 2
    bad = await jp_fetch(
        "trackrun", "api", "runs", params={"group_sweeps": "true", "expand": "../x"},
        raise_error=False,
    )  # fmt: skip
    assert bad.code == 400 and json.loads(bad.body)["code"] == "invalid_sweep_id"
