"""Run ids and names (trackrun.ids): format, order, validation of ids and prefixes."""

from __future__ import annotations

import calendar

import pytest

from trackrun.errors import InvalidRunIdError
from trackrun.ids import (
    check_run_id,
    check_run_id_prefix,
    is_run_id,
    new_run_id,
    new_run_name,
)


def test_new_run_id_is_utc_time_then_random_hex() -> None:
    when = calendar.timegm((2026, 11, 26, 3, 13, 2, 0, 0, 0))
    run_id = new_run_id(when)
    assert run_id.startswith("20261126-031302-") and is_run_id(run_id)
    assert len({new_run_id(when) for _ in range(50)}) > 45  # random tails


def test_ids_sort_in_creation_order() -> None:
    times = [1_700_000_000 + d for d in (0, 1, 59, 3600, 86_400 * 400)]
    ids = [new_run_id(t) for t in times]
    assert sorted(ids) == ids


@pytest.mark.parametrize(
    "text",
    ["20261126-031302-7F3A9C", "20261126-031302-7f3a9", "20261126_031302_7f3a9c", "../x", ""],
)
def test_malformed_ids_are_refused_with_the_expected_shape(text: str) -> None:
    assert not is_run_id(text)
    with pytest.raises(InvalidRunIdError, match="run ids look like 20261126-031302-7f3a9c"):
        check_run_id(text)


@pytest.mark.parametrize("prefix", ["2026", "20261126-03", "20261126-031302-7f3a9c"])
def test_prefixes(prefix: str) -> None:
    assert check_run_id_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "2026%", "x' or 1=1", "../", "2" * 23])
def test_prefixes_unsafe_in_paths_or_like_patterns_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidRunIdError):
        check_run_id_prefix(prefix)


def test_names_are_adjective_noun_number() -> None:
    for _ in range(20):
        adjective, noun, number = new_run_name().split("-")
        assert adjective.isalpha() and noun.isalpha() and 10 <= int(number) <= 99
