"""The verdict rules on a real store: runs made through trackrun.start_run/log, compared as
`trackrun reproduce --run` compares an original with its reproduction."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import trackrun
from trackrun.reproduction.verdict import compare_runs
from trackrun.store import Store

Curves = dict[str, list[tuple[int, float]]]
LOSS: Curves = {"loss": [(0, 1.0), (1, 0.5), (2, 0.25)]}


def made(curves: Curves, output: str = "", fail: bool = False) -> str:
    """A run that logged ``curves`` and printed ``output`` (raising at the end if ``fail``)."""
    run = trackrun.start_run(name="r")
    try:
        for key, points in curves.items():
            for step, value in points:
                trackrun.log({key: value}, step=step)
        if output:
            print(output)
        if fail:
            raise RuntimeError("the reproduction broke")
    except RuntimeError:
        trackrun.finish(status="failed")
    else:
        trackrun.finish()
    return run.run_id


@pytest.fixture
def store(isolated_store: Path) -> Store:
    return Store(isolated_store, lease=0)


def test_the_same_numbers_are_identical(store: Store) -> None:
    found = compare_runs(store, made(LOSS), made(LOSS))
    assert (found.verdict, found.max_rel_diff, found.reasons) == ("identical", 0.0, [])
    assert str(found) == "identical"


def test_a_difference_up_to_rtol_is_within_tolerance_and_beyond_it_different(
    store: Store,
) -> None:
    rtol = 2.0**-12  # exact in binary: the boundary is not blurred by rounding
    original = made({"loss": [(0, 1.0), (1, 2.0)]})
    reproduced = made({"loss": [(0, 1.0), (1, 2.0 * (1 - rtol))]})  # rel. diff exactly rtol
    found = compare_runs(store, original, reproduced, rtol=rtol)
    assert found.verdict == "within tolerance" and found.max_rel_diff == rtol
    assert str(found) == "within tolerance (max rel. diff 0.000244, rtol 0.000244141)"
    assert found.reasons == []

    beyond = compare_runs(store, original, reproduced, rtol=rtol / 2)
    assert beyond.verdict == "different" and beyond.max_rel_diff == rtol
    assert str(beyond) == "different (max rel. diff 0.000244, rtol 0.00012207)"
    assert beyond.reasons == ["values differ by up to 0.000244 relative (tolerance 0.00012207)"]


def test_nan_equals_nan(store: Store) -> None:
    curves: Curves = {"loss": [(0, 1.0), (1, math.nan)]}
    found = compare_runs(store, made(curves), made(curves))
    assert found.verdict == "identical", found.reasons
    other = compare_runs(store, made(curves), made({"loss": [(0, 1.0), (1, 0.5)]}))
    assert other.verdict == "different" and other.max_rel_diff == math.inf


def test_a_metric_missing_on_one_side_is_different(store: Store) -> None:
    original = made({**LOSS, "acc": [(0, 0.9)]})
    found = compare_runs(store, original, made(LOSS))
    assert found.verdict == "different"
    assert found.reasons == ["acc: only in the original"]
    (acc,) = [m for m in found.metrics if m.key == "acc"]
    assert (acc.original, acc.reproduced, acc.points) == (0.9, None, (1, 0))
    found = compare_runs(store, made(LOSS), original)
    assert found.reasons == ["acc: only in the reproduction"]


def test_other_steps_are_different_even_with_the_same_values(store: Store) -> None:
    shifted: Curves = {"loss": [(0, 1.0), (2, 0.5), (4, 0.25)]}
    found = compare_runs(store, made(LOSS), made(shifted))
    assert found.verdict == "different"
    assert found.reasons == ["loss: different steps (3 vs 3 points)"]


def test_a_reproduction_that_did_not_finish_is_different(store: Store) -> None:
    found = compare_runs(store, made(LOSS), made(LOSS, fail=True))
    assert found.verdict == "different"
    assert found.reasons == ["the reproduction ended failed"]


def test_without_metrics_the_output_logs_are_compared(store: Store) -> None:
    original = made({}, output="epoch 1: ok")
    assert "epoch 1: ok" in store.paths.run(original).output_log.read_text()
    same = compare_runs(store, original, made({}, output="epoch 1: ok"))
    assert (same.verdict, same.reasons) == ("identical", [])
    other = compare_runs(store, original, made({}, output="epoch 1: NOT ok"))
    assert other.verdict == "different"
    assert other.reasons == ["no metric was logged and the outputs differ"]


def test_to_text_shows_the_final_metrics_side_by_side(store: Store) -> None:
    original = made({**LOSS, "acc": [(0, 0.5), (1, 0.75)]})
    reproduced = made({**LOSS, "acc": [(0, 0.5), (1, 0.7)]})
    text = compare_runs(store, original, reproduced).to_text()
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "original", "reproduced", "points", "max", "rel.", "diff"]
    assert lines[1].split()[:4] == ["acc", "0.75", "0.7", "2/2"]
    assert lines[2].split() == ["loss", "0.25", "0.25", "3/3", "0"]
    assert lines[-1] == "verdict: different (max rel. diff 0.0667, rtol 0.0001)"
