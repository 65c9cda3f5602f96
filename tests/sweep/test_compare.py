"""compare("sweep:NAME", group_by=...): seed statistics, best group against the runner-up, chart."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import numpy as np
import pytest
from scipy import stats

import trackrun
from trackrun.comparison import compare
from trackrun.jobs.sweep_runs import new_sweep
from trackrun.layout import StorePaths
from trackrun.run import Run

# Final val_acc per seed for each lr: 3e-3 is best, 1e-2 the runner-up, 1e-3 the worst.
FINALS = {
    1e-3: [0.70, 0.72, 0.69],
    3e-3: [0.81, 0.84, 0.80],
    1e-2: [0.78, 0.77, 0.80],
}


def _sweep_runs(root: Path) -> str:
    store = StorePaths(root)
    record = new_sweep(store, "lr-grid", text="lr=[1e-3, 3e-3, 1e-2] seed=range(3)")
    for lr, finals in FINALS.items():
        for seed, final in enumerate(finals):
            run = Run.start(
                root,
                params={"lr": lr, "seed": seed, "hidden": 64},
                tags=record.tags,
                launch={"sweep": record.launch_entry(0)},
                provenance={},
            )
            run.log({"val_acc": final - 0.2}, step=0)
            run.log({"val_acc": final}, step=1)
            run.finish()
    record.save(store)
    other = Run.start(root, params={"lr": 3e-3, "seed": 9}, tags=["sweep:other"], provenance={})
    other.log({"val_acc": 0.99}, step=0)
    other.finish()
    return record.sweep_id


def test_compare_a_sweep_matches_scipy(isolated_store: Path) -> None:
    sweep_id = _sweep_runs(isolated_store)
    result = compare("sweep:lr-grid", metrics=["val_acc"], group_by=["lr"])
    assert len(result.runs) == 9  # the run tagged sweep:other is not in this sweep
    by_id = compare(f"sweep = {sweep_id}", metrics=["val_acc"], group_by=["lr"])
    assert sorted(by_id.runs["run_id"]) == sorted(result.runs["run_id"])
    groups = result.groups
    assert groups is not None
    for label, n, mean, std in zip(
        groups["group"], groups["n"], groups["mean"], groups["std"], strict=True
    ):
        values = _values(label)
        assert n == 3
        assert mean == pytest.approx(np.mean(values), rel=1e-12)
        assert std == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert result.test is not None and len(result.test) == 1
    test = result.test[0]
    assert test.groups == ("lr=0.003", "lr=0.01")  # the best against the runner-up
    reference = stats.ttest_ind(FINALS[3e-3], FINALS[1e-2], equal_var=False)
    assert test.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert test.df == pytest.approx(reference.df, rel=1e-9)
    assert test.ci == pytest.approx(tuple(reference.confidence_interval(0.95)), rel=1e-9)
    assert test.difference == pytest.approx(np.mean(FINALS[3e-3]) - np.mean(FINALS[1e-2]))
    assert "best group minus runner-up" in result.to_text()
    lowest = compare("sweep:lr-grid", metrics=["val_acc"], group_by=["lr"], goal="min")
    assert lowest.test is not None and lowest.test[0].groups == ("lr=0.001", "lr=0.01")


def test_a_loss_sweep_ranks_its_groups_by_its_own_metric_and_goal(isolated_store: Path) -> None:
    store = StorePaths(isolated_store)
    record = new_sweep(
        store, "loss-grid", text="lr=[1e-3, 3e-3, 1e-2] seed=range(3)", metric="loss", goal="min"
    )
    for index, (lr, finals) in enumerate(FINALS.items()):
        for seed, final in enumerate(finals):
            run = Run.start(
                isolated_store,
                params={"lr": lr, "seed": seed},
                tags=record.tags,
                launch={"sweep": record.launch_entry(index * 3 + seed)},
                provenance={},
            )
            # The loss is what the sweep ranks by (lowest best); accuracy rises with it.
            run.log({"loss": final, "acc": final}, step=0)
            run.finish()
    record.save(store)
    lowest = ("lr=0.001", "lr=0.01")  # loss means: 1e-3 lowest, then 1e-2, then 3e-3
    for query in ("sweep:loss-grid", f"sweep = {record.sweep_id}", f"sweep:{record.sweep_id}"):
        result = trackrun.compare(query, group_by=["lr"])
        assert result.goal == "min" and result.metrics == ["loss"]
        assert result.test is not None and [t.groups for t in result.test] == [lowest]
    # What the caller says wins over the sweep's record.
    highest = trackrun.compare("sweep:loss-grid", ["acc"], ["lr"], goal="max")
    assert highest.test is not None and highest.test[0].groups == ("lr=0.003", "lr=0.01")
    both = trackrun.compare("sweep:loss-grid", ["acc", "loss"], ["lr"])
    assert both.goal == "min" and both.test is not None
    assert [t.groups for t in both.test] == [lowest, lowest]


def _values(label: str) -> list[float]:
    lr = float(label.removeprefix("lr="))
    return next(v for k, v in FINALS.items() if k == pytest.approx(lr))


def test_parallel_coordinates_draw_every_run_through_params_and_metric(
    isolated_store: Path,
) -> None:
    _sweep_runs(isolated_store)
    result = compare("sweep:lr-grid", metrics=["val_acc"])
    spec = result.parallel_chart.to_dict()
    json.dumps(spec, allow_nan=False)
    (rows,) = spec["datasets"].values()
    assert {row["axis"] for row in rows} == {"lr", "seed", "val_acc"}  # hidden never differs
    assert len({row["run_id"] for row in rows}) == 9
    positions = sorted({row["position"] for row in rows if row["axis"] == "lr"})
    assert positions == pytest.approx([0.0, (3e-3 - 1e-3) / (1e-2 - 1e-3), 1.0])
    best = max(rows, key=lambda row: row["metric"])
    assert best["metric"] == pytest.approx(0.84)


def _displayed(value: object) -> list[dict[str, object]]:
    """What IPython's display publisher receives for ``display(value)``: one bundle each."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    try:
        with alt.renderers.enable("mimetype"), capture_output() as captured:
            display(value)
    finally:
        InteractiveShell.clear_instance()
    return [output.data for output in captured.outputs]


def _vegalite(bundle: dict[str, object]) -> dict[str, object] | None:
    return next((v for k, v in bundle.items() if "vegalite" in k and isinstance(v, dict)), None)


def test_a_sweep_or_grouped_comparison_displays_its_parallel_coordinates(
    isolated_store: Path,
) -> None:
    _sweep_runs(isolated_store)
    for result in (
        compare("sweep:lr-grid", metrics=["val_acc"], group_by=["lr"]),
        compare("sweep:lr-grid", metrics=["val_acc"]),  # a sweep, not grouped
        compare("tag:sweep:lr-grid", metrics=["val_acc"], group_by=["lr"]),  # grouped
    ):
        curves, parallel, tables = _displayed(result)
        assert _vegalite(curves) == result.chart.to_dict()
        assert _vegalite(parallel) == result.parallel_chart.to_dict()
        assert "Welch" in str(tables["text/html"]) or result.group_by == []
    plain = compare("tag:sweep:lr-grid", metrics=["val_acc"])  # neither: curves and tables
    assert [_vegalite(b) is not None for b in _displayed(plain)] == [True, False]


def test_a_sweeps_statistics_count_its_finished_runs_only(isolated_store: Path) -> None:
    """A running or failed point's last value is no final one: the groups and the test of a
    sweep leave it out (as the panel's sweep view does) and say how many were left out."""
    _sweep_runs(isolated_store)
    record = trackrun.get_store().runs("sweep:lr-grid")
    assert len(record) == 9
    for status, value in (("running", 0.99), ("failed", 0.10)):
        run = Run.start(
            isolated_store, params={"lr": 3e-3, "seed": 7, "hidden": 64}, tags=["sweep:lr-grid"]
        )
        run.log({"val_acc": value}, step=0)
        if status == "running":
            run.release()  # still running as far as the store knows
        else:
            run.finish(status="failed", error="RuntimeError: diverged")
    result = compare("sweep:lr-grid", metrics=["val_acc"], group_by=["lr"])
    assert len(result.runs) == 11 and result.unfinished == 2
    groups = result.groups
    assert groups is not None
    best = groups["group"].index("lr=0.003")
    assert groups["n"][best] == 3
    assert groups["mean"][best] == pytest.approx(np.mean(FINALS[3e-3]), rel=1e-12)
    assert "2 not finished left out" in result.to_text()
    # A filter that is not exactly one sweep counts what it names, as before.
    plain = compare("sweep:lr-grid and params.lr = 0.003", metrics=["val_acc"], group_by=["lr"])
    assert plain.unfinished == 0 and plain.groups is not None and plain.groups["n"] == [5]
