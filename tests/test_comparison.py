"""Comparing runs (params, final metrics, groups, Welch's t-test, charts) and diffing their code."""

from __future__ import annotations

import json
import math
from typing import Any

import altair as alt
import numpy as np
import pytest
from scipy import stats

import trackrun
from trackrun.codediff import diff
from trackrun.comparison import compare
from trackrun.errors import FilterError, RunNotFoundError, TrackrunError


def make_run(
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    **series: list[float],
) -> str:
    """A finished run that logged each series at steps 0..n-1; returns its id."""
    with trackrun.start_run(name=name, params=params, tags=tags) as run:
        for key, values in series.items():
            for step, value in enumerate(values):
                trackrun.log({key: value}, step=step)
    return run.run_id


def chart_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    data = spec.get("data") or {}
    if "values" in data:
        return list(data["values"])
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


# -- params and summary ---------------------------------------------------------------------
def test_params_diff_shows_only_params_that_differ() -> None:
    a = make_run(params={"lr": 0.1, "seed": 1, "layers": [64, 64], "opt": "adam", "wd": 1})
    b = make_run(params={"lr": 0.1, "seed": 2, "layers": [64, 128], "opt": "adam", "wd": 1.0})
    c = make_run(params={"lr": 0.1, "seed": 1, "layers": [64, 64], "opt": "adam", "wd": 1})
    result = compare([a, b, c])
    assert result.params_diff.column_names == ["run_id", "name", "layers", "seed"]
    assert result.params_diff["seed"] == [1, 2, 1]
    assert result.params_diff["layers"] == [[64, 64], [64, 128], [64, 64]]
    assert set(result.params_all.column_names) == {
        "run_id",
        "name",
        "layers",
        "lr",
        "opt",
        "seed",
        "wd",
    }
    only_one = make_run(params={"lr": 0.1, "extra": True})
    missing = compare([a, only_one]).params_diff  # absent on one side counts as different
    assert missing.column_names[2:] == ["extra", "layers", "opt", "seed", "wd"]
    assert missing["opt"] == ["adam", None]
    assert "every run has the same params" in compare([a, c]).to_text()


def test_summary_has_each_runs_final_metric_values() -> None:
    a = make_run(name="a", loss=[3.0, 2.0, 1.5], acc=[0.1, 0.3])
    b = make_run(name="b", loss=[4.0, 0.5])
    result = compare([a, b])
    assert result.metrics == ["acc", "loss"]
    assert result.summary["name"] == ["a", "b"]
    assert result.summary["loss"] == [1.5, 0.5]
    assert result.summary["acc"] == [0.3, None]
    only_loss = compare([b, a], metrics=["loss"])
    assert only_loss.summary.column_names == ["run_id", "name", "status", "loss"]
    assert only_loss.summary["loss"] == [0.5, 1.5]
    with pytest.raises(TrackrunError, match="'val_acc'.*logged metrics: acc, loss"):
        compare([a, b], metrics=["val_acc"])


# -- selecting runs -------------------------------------------------------------------------
def test_filter_string_list_of_ids_prefixes_names_and_single_run() -> None:
    alpha = make_run(name="alpha", tags=["sweep"], loss=[1.0])
    beta = make_run(name="beta", tags=["sweep"], loss=[2.0])
    gamma = make_run(name="gamma", loss=[3.0])
    with pytest.raises(ZeroDivisionError), trackrun.start_run(tags=["sweep"]):
        1 / 0  # noqa: B018
    by_filter = compare("tag:sweep and status = finished")
    assert sorted(by_filter.runs["run_id"]) == sorted([alpha, beta])
    by_list = compare([gamma, alpha[:-2], "beta"])
    assert by_list.runs["run_id"] == [gamma, alpha, beta]  # the given order
    assert compare("beta").runs["run_id"] == [beta]
    assert compare(alpha).runs["run_id"] == [alpha]
    with pytest.raises(RunNotFoundError, match="no run id starts with"):
        compare("nosuchrun")
    with pytest.raises(RunNotFoundError, match="no runs match"):
        compare("tag:nothing-has-this")
    with pytest.raises(FilterError):
        compare("status = = finished")
    with pytest.raises(RunNotFoundError):
        compare(["alpha", "nosuchrun"])


# -- groups and the t-test ------------------------------------------------------------------
CNN = [0.80 + d for d in (-0.02, -0.01, 0.0, 0.01, 0.02)]
MLP = [0.75 + d for d in (-0.005, 0.015, 0.0, -0.01, 0.0)]


def seed_runs(groups: dict[str, list[float]], tag: str = "seeds") -> None:
    for model, finals in groups.items():
        for seed, final in enumerate(finals):
            params = {"model": model, "seed": seed, "lr": 0.1}
            make_run(params=params, tags=[tag], acc=[0.1, 0.5, final], loss=[1.0, 0.5, 0.1])


def test_group_statistics_and_welch_test_match_scipy() -> None:
    seed_runs({"cnn": CNN, "mlp": MLP})
    result = compare("tag:seeds", metrics=["acc"], group_by=["model"])
    groups = result.groups
    assert groups is not None
    assert groups["group"] == ["model=cnn", "model=mlp"]
    assert groups["n"] == [5, 5]
    assert groups["mean"] == pytest.approx([np.mean(CNN), np.mean(MLP)])
    assert groups["std"] == pytest.approx([np.std(CNN, ddof=1), np.std(MLP, ddof=1)])
    assert result.test is not None and len(result.test) == 1
    test = result.test[0]
    reference = stats.ttest_ind(CNN, MLP, equal_var=False)
    assert test.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert test.ci == pytest.approx((low, high), rel=1e-9)
    var_a, var_b = np.var(CNN, ddof=1) / 5, np.var(MLP, ddof=1) / 5
    half = stats.t.ppf(0.975, reference.df) * math.sqrt(var_a + var_b)
    assert test.ci == pytest.approx((0.05 - half, 0.05 + half), rel=1e-9)
    assert test.ci is not None and test.ci[0] < 0.05 < test.ci[1]  # the true difference
    assert test.difference == pytest.approx(0.05)
    assert test.message.startswith("acc: model=cnn 0.800 ± 0.016 vs model=mlp 0.750 ± 0.009")
    assert "over 5 runs each: difference 0.050, 95% CI [" in test.message
    assert f"Welch p = {reference.pvalue:.2g}" in test.message
    assert test.message in result.to_text()
    assert test.message in result._repr_html_()


def test_t_test_needs_two_runs_per_group() -> None:
    seed_runs({"cnn": CNN[:1], "mlp": MLP[:3]})
    result = compare("tag:seeds", group_by=["params.model"])
    assert result.test is not None
    for test in result.test:
        assert test.p_value is None and test.ci is None and test.difference is None
        assert (
            "needs at least 2 runs per group" in test.message
            and "(model=cnn: 1, model=mlp: 3)" in test.message
        )
    assert "needs at least 2 runs per group" in result.to_text()


def test_groups_by_several_keys_and_more_than_two_groups_test_best_against_runner_up() -> None:
    seed_runs({"cnn": CNN[:2], "mlp": MLP[:2], "vit": MLP[2:4]})
    result = compare("tag:seeds", metrics=["acc"], group_by=["model", "lr"])
    assert result.groups is not None
    assert result.groups["group"] == ["model=cnn, lr=0.1", "model=mlp, lr=0.1", "model=vit, lr=0.1"]
    assert result.test is not None
    assert result.test[0].groups == ("model=cnn, lr=0.1", "model=mlp, lr=0.1")
    assert "best group minus runner-up" in result.to_text()
    with pytest.raises(TrackrunError, match="no run has a param or field 'depth'"):
        compare("tag:seeds", group_by=["depth"])


# -- chart and display ----------------------------------------------------------------------
@pytest.mark.slow
def test_chart_of_a_long_history_is_valid_json_and_keeps_the_spike() -> None:
    values = [1.0 / (i + 1) for i in range(100_000)]
    values[61_234] = 1000.0
    values[20_000] = math.nan
    long_run = make_run(name="long", loss=values)
    short_run = make_run(name="short", loss=[2.0, math.inf, 1.0])
    spec = compare([long_run, short_run]).chart.to_dict()
    json.dumps(spec, allow_nan=False)
    rows = chart_rows(spec)
    long_rows = [r["value"] for r in rows if r["run"] == "long"]
    assert 100 < len(long_rows) <= 2000
    assert 1000.0 in long_rows
    assert [r["value"] for r in rows if r["run"] == "short"] == [2.0, 1.0]


def test_chart_keeps_a_spike_next_to_a_nan_and_the_last_point() -> None:
    values = [0.0] * 30_000
    values[15_010], values[15_011] = 100.0, math.nan
    values[-1] = 7.0
    spec = compare([make_run(loss=values)]).chart.to_dict()
    plotted = [(r["step"], r["value"]) for r in chart_rows(spec)]
    assert (15_010, 100.0) in plotted
    assert plotted[-1] == (29_999, 7.0)


def test_notebook_display_shows_the_chart_then_escaped_tables() -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    a = make_run(params={"note": "<script>alert(1)</script>"}, loss=[1.0, 0.5])
    b = make_run(params={"note": "plain"}, loss=[1.0, 0.7])
    result = compare([a, b])
    InteractiveShell.instance()
    try:
        with alt.renderers.enable("mimetype"), capture_output() as captured:
            display(result)
    finally:
        InteractiveShell.clear_instance()
    chart_output, table_output = captured.outputs
    vegalite = next(v for k, v in chart_output.data.items() if "vegalite" in k)
    assert chart_rows(vegalite) == chart_rows(result.chart.to_dict())
    page = table_output.data["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    grouped = compare([a, b], group_by=["note"])._repr_html_()  # labels reach the test text
    assert "note=&lt;script&gt;" in grouped and "<script>" not in grouped


# -- code diff ------------------------------------------------------------------------------
def write_code(run_id: str, **files: str) -> None:
    code = trackrun.get_store().paths.run(run_id).code
    code.mkdir(exist_ok=True)
    for name, text in files.items():
        (code / f"{name}.py").write_text(text)


def set_packages(run_id: str, packages: dict[str, str] | None) -> None:
    path = trackrun.get_store().paths.run(run_id).run_json
    record = json.loads(path.read_text())
    record["provenance"]["packages"] = packages
    path.write_text(json.dumps(record))


def test_diff_shows_the_changed_cell_line_and_a_missing_notebook() -> None:
    a, b = make_run(name="before"), make_run(name="after")
    write_code(a, cell="lr = 0.1\nif lr < 1:\n    fit(lr)\n", notebook="# %%\nimport x\n")
    write_code(b, cell="lr = 0.01\nif lr < 1:\n    fit(lr)\n")
    result = diff("before", b)
    assert "-lr = 0.1\n+lr = 0.01\n" in result.cell
    assert "-if lr" not in result.cell and "+if lr" not in result.cell
    assert f"--- {a} (before) cell.py" in result.cell
    assert "-import x\n" in result.notebook and "no notebook recorded" in result.notebook
    text = result.to_text()
    assert "+lr = 0.01" in text and "no code recorded" not in text
    page = result._repr_html_()
    assert "if lr &lt; 1:" in page and "<  1" not in page
    assert 'style="color: var(--jp-success-color1)">+lr = 0.01</span>' in page


def test_diff_without_code_and_with_identical_code() -> None:
    a, b = make_run(), make_run()
    result = diff(a, b)
    assert result.cell == "" and result.notebook == ""
    assert "no code recorded for either run" in result.to_text()
    write_code(a, cell="x = 1\n")
    write_code(b, cell="x = 1\n")
    assert "cell code: identical" in diff(a, b).to_text()


def test_diff_lists_added_removed_and_changed_packages() -> None:
    a, b, c = make_run(), make_run(), make_run()
    set_packages(a, {"numpy": "1.26.0", "torch": "2.1.0", "scipy": "1.11.0"})
    set_packages(b, {"numpy": "2.0.0", "scipy": "1.11.0", "Jax": "0.4.30"})
    set_packages(c, None)
    result = diff(a, b)
    assert result.packages == [
        ("Jax", None, "0.4.30"),
        ("numpy", "1.26.0", "2.0.0"),
        ("torch", "2.1.0", None),
    ]
    text = result.to_text()
    assert "changed  numpy 1.26.0 -> 2.0.0" in text
    assert "added    Jax 0.4.30" in text and "removed  torch 2.1.0" in text
    assert f"packages: not recorded for {c}" in diff(a, c).to_text()
