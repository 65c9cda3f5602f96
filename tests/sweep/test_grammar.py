"""The sweep grammar: grids, ranges, random draws with a seed, and errors that point at the column."""

from __future__ import annotations

import math

import pytest

from trackrun.jobs.sweep import MAX_POINTS_UNCONFIRMED, SweepError, parse_sweep


def test_grid_is_the_product_in_the_order_written() -> None:
    sweep = parse_sweep("lr=[1e-3, 3e-3, 1e-2] hidden=[64, 128] seed=range(2)")
    points = sweep.expand()
    assert len(points) == sweep.count(None) == 12
    assert points[:3] == [
        {"lr": 1e-3, "hidden": 64, "seed": 0},
        {"lr": 1e-3, "hidden": 64, "seed": 1},
        {"lr": 1e-3, "hidden": 128, "seed": 0},
    ]
    assert {(p["lr"], p["hidden"], p["seed"]) for p in points} == {
        (lr, h, s) for lr in (1e-3, 3e-3, 1e-2) for h in (64, 128) for s in (0, 1)
    }


def test_ranges_fixed_values_strings_and_commas_between_entries() -> None:
    sweep = parse_sweep("a=range(2, 8, 3), opt=['adam', \"sgd\"]; momentum=0.9 flag=[True, None]")
    assert sweep.names == ["a", "opt", "momentum", "flag"]
    points = sweep.expand()
    assert len(points) == 2 * 2 * 1 * 2
    assert {p["a"] for p in points} == {2, 5}
    assert {p["opt"] for p in points} == {"adam", "sgd"}
    assert {p["momentum"] for p in points} == {0.9}
    assert {p["flag"] for p in points} == {True, None}


def test_random_search_with_a_fixed_seed_gives_the_same_points_twice() -> None:
    text = "lr=loguniform(1e-4, 1e-1) drop=uniform(0, 0.5) opt=choice(['a', 'b']) n=randint(1, 3)"
    first = parse_sweep(text).expand(20, seed=7)
    again = parse_sweep(text).expand(20, seed=7)
    other = parse_sweep(text).expand(20, seed=8)
    assert first == again
    assert first != other
    assert len(first) == 20
    for point in first:
        assert 1e-4 <= point["lr"] <= 1e-1 and 0 <= point["drop"] <= 0.5
        assert point["opt"] in ("a", "b") and point["n"] in (1, 2, 3)
    logs = [math.log10(p["lr"]) for p in parse_sweep("lr=loguniform(1e-4, 1)").expand(400, 1)]
    assert sum(v < -2 for v in logs) > 120  # log-uniform: half the draws below 1e-2


def test_random_draws_are_crossed_with_the_grid() -> None:
    points = parse_sweep("lr=loguniform(1e-4, 1e-1) seed=range(3)").expand(4, seed=1)
    assert len(points) == 12
    by_lr: dict[float, list[int]] = {}
    for point in points:
        by_lr.setdefault(point["lr"], []).append(point["seed"])
    assert len(by_lr) == 4 and all(seeds == [0, 1, 2] for seeds in by_lr.values())


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("lr=[1e-3, 3e-3", 4, "unclosed '['"),
        ("lr=[1e-3] hidden=[]", 18, "list is empty"),
        ("seed=range(0)", 6, "range(0) is empty"),
        ("lr=[1, x]", 8, "'x' is not a literal"),
        ("lr=[1,,2]", 7, "cannot read"),
        ("lr=[1] lr=[2]", 8, "swept twice"),
        ("1lr=[1]", 1, "not a name"),
        ("lr [1]", 4, "expected '='"),
        ("lr=", 4, "expected values"),
        ("lr=normal(0, 1)", 4, "unknown function normal()"),
        ("lr=loguniform(0, 1)", 4, "above 0"),
        ("lr=uniform(2, 1)", 4, "lower"),
        ("n=randint(1.5, 3)", 3, "integers"),
        ("lr=[1] opt='adam", 12, "unclosed quote"),
        ("   ", 1, "empty"),
    ],
)
def test_grammar_errors_point_at_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(SweepError) as caught:
        parse_sweep(text)
    assert words in caught.value.reason
    assert caught.value.column == column
    assert str(caught.value).endswith("\n  " + text + "\n  " + " " * (column - 1) + "^")


def test_random_axes_need_a_number_of_draws_and_draws_need_random_axes() -> None:
    sweep = parse_sweep("seed=range(2) lr=uniform(0, 1)")
    with pytest.raises(SweepError, match="add --sweep-random N") as caught:
        sweep.check(None)
    assert caught.value.column == 15
    with pytest.raises(SweepError, match="needs at least one random axis"):
        parse_sweep("seed=range(2)").check(5)
    with pytest.raises(SweepError, match="1 or more"):
        sweep.check(0)


def test_more_than_ten_thousand_points_need_confirmation() -> None:
    sweep = parse_sweep("a=range(101) b=range(100)")
    assert sweep.count(None) == 10_100 > MAX_POINTS_UNCONFIRMED
    with pytest.raises(SweepError, match="10,100 points.*--yes"):
        sweep.check(None)
    assert sweep.check(None, confirmed=True) == 10_100
    assert parse_sweep("a=range(100) b=range(100)").check(None) == 10_000
