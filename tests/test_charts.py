"""Metric charts: downsampling that keeps extremes, and Vega-Lite specs that stay valid JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from trackrun.charts import downsample, metric_curves, series_rows
from trackrun.table import Table

A = "20261126-031302-aaaaaa"
B = "20261126-031302-bbbbbb"


def history(series: dict[tuple[str, str], list[float]]) -> Table:
    """A long-format history Table with steps 0..n-1 for each (run_id, key) series."""
    cols: dict[str, list[Any]] = {"run_id": [], "key": [], "step": [], "value": [], "wall_time": []}
    for (run_id, key), values in series.items():
        cols["run_id"] += [run_id] * len(values)
        cols["key"] += [key] * len(values)
        cols["step"] += list(range(len(values)))
        cols["value"] += list(values)
        cols["wall_time"] += [0.0] * len(values)
    return Table(cols)


def plotted(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows a compiled spec draws (inline values, wherever altair put them)."""
    data = spec.get("data") or {}
    if "values" in data:
        return list(data["values"])
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


# -- downsample -----------------------------------------------------------------------------
def test_downsample_keeps_spike_dip_first_and_last_within_budget() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0.0, 1.0, 100_000)
    values[31_337] = 500.0  # not at a bucket start
    values[70_001] = -400.0
    # Non-finite neighbours must not take the spike's place as the bucket's extreme.
    values[31_338] = math.nan
    values[31_339] = math.inf
    values[70_002] = -math.inf
    steps, kept = downsample(np.arange(100_000), values, max_points=2000)
    assert len(kept) <= 2000
    assert 500.0 in kept and -400.0 in kept
    assert steps[0] == 0 and steps[-1] == 99_999 and kept[-1] == values[-1]
    assert np.all(np.diff(steps) > 0)


def test_downsample_short_series_is_unchanged_and_unsorted_input_is_ordered() -> None:
    steps, values = downsample([2, 0, 1], [20.0, 0.0, 10.0])
    assert steps.tolist() == [0, 1, 2] and values.tolist() == [0.0, 10.0, 20.0]


def test_downsample_rejects_a_tiny_budget_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        downsample([0, 1], [0.0, 1.0], max_points=3)
    with pytest.raises(ValueError, match="equal"):
        downsample([0, 1, 2], [0.0, 1.0])


# -- metric_curves --------------------------------------------------------------------------
def test_chart_json_is_valid_with_nan_and_inf_and_says_what_it_dropped() -> None:
    values = [1.0, math.nan, 2.0, math.inf, -math.inf, 3.0]
    chart = metric_curves(history({(A, "loss"): values}), {A: "baseline"})
    spec = chart.to_dict()
    text = json.dumps(spec, allow_nan=False)  # raises on NaN/inf anywhere in the spec
    rows = plotted(spec)
    assert [r["value"] for r in rows] == [1.0, 2.0, 3.0]
    assert [r["step"] for r in rows] == [0, 2, 5]
    assert "3 non-finite values" in text


def test_chart_downsamples_each_series_and_keeps_spikes() -> None:
    n = 100_000
    loss = [1.0 / (i + 1) for i in range(n)]
    loss[54_321] = 99.0
    acc = [0.5] * n
    acc[12_345] = -7.0
    table = history({(A, "loss"): loss, (B, "loss"): loss, (A, "acc"): acc})
    rows = plotted(metric_curves(table, {A: "run-a", B: "run-b"}).to_dict())
    for run, key in (("run-a", "loss"), ("run-b", "loss"), ("run-a", "acc")):
        series = [r for r in rows if r["run"] == run and r["key"] == key]
        assert 100 < len(series) <= 2000
    assert {r["value"] for r in rows if r["key"] == "loss"} >= {99.0, loss[-1]}
    assert -7.0 in {r["value"] for r in rows if r["key"] == "acc"}


def test_chart_has_a_panel_per_metric_a_line_per_run_and_tooltips() -> None:
    table = history({(A, "loss"): [3.0, 2.0], (B, "loss"): [4.0, 1.0], (A, "acc"): [0.1, 0.2]})
    spec = metric_curves(table, {A: "run-a", B: "run-b"}).to_dict()
    assert spec["facet"]["field"] == "key" and spec["facet"]["sort"] == ["acc", "loss"]
    layers = spec["spec"]["layer"]
    assert layers[0]["mark"]["type"] == "line"
    encoding = layers[0]["encoding"]
    assert encoding["x"]["field"] == "step" and encoding["y"]["field"] == "value"
    assert encoding["color"]["field"] == "run"
    tooltip_fields = {t["field"] for t in layers[1]["encoding"]["tooltip"]}
    assert {"run", "step", "value"} <= tooltip_fields
    assert {r["run"] for r in plotted(spec)} == {"run-a", "run-b"}
    assert "background" not in json.dumps(spec)  # theme-neutral


def test_chart_keys_pick_and_order_panels() -> None:
    table = history({(A, "loss"): [1.0], (A, "acc"): [0.1], (A, "lr"): [0.01]})
    spec = metric_curves(table, keys=["loss", "acc"]).to_dict()
    assert spec["facet"]["sort"] == ["loss", "acc"]
    assert {r["key"] for r in plotted(spec)} == {"loss", "acc"}


def test_runs_sharing_a_name_get_separate_legend_entries() -> None:
    table = history({(A, "loss"): [1.0], (B, "loss"): [2.0]})
    rows = plotted(metric_curves(table, {A: "same", B: "same"}).to_dict())
    assert {r["run"] for r in rows} == {"same (aaaaaa)", "same (bbbbbb)"}


def test_empty_history_gives_a_chart_that_says_so() -> None:
    spec = metric_curves(history({})).to_dict()
    assert plotted(spec) == [{"text": "no metrics recorded"}]


def test_spec_compiles_and_renders_in_vega() -> None:
    import vl_convert

    table = history({(A, "loss"): [3.0, math.nan, 1.0], (B, "acc"): [0.1, 0.5]})
    spec = json.dumps(metric_curves(table, {A: "run-a", B: "run-b"}).to_dict(), allow_nan=False)
    version = vl_convert.get_vegalite_versions()[-1]
    svg = vl_convert.vegalite_to_svg(spec, vl_version=version)
    assert "run-a" in svg and "run-b" in svg


def test_rows_carry_the_logged_wall_time_of_each_kept_point() -> None:
    steps = list(range(5000))
    table = Table(
        {
            "run_id": [A] * 5000,
            "key": ["loss"] * 5000,
            "step": steps[::-1],  # unordered on purpose
            "value": [float(s % 97) for s in steps[::-1]],
            "wall_time": [1_000.0 + 0.5 * s for s in steps[::-1]],
        }
    )
    rows, _ = series_rows(table, max_points=100)
    assert 4 <= len(rows) <= 100
    assert all(r["wall_time"] == 1_000.0 + 0.5 * r["step"] for r in rows)
