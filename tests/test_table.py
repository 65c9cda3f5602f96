"""Result tables (trackrun.table): access, formatting, conversion, JSON-safe values."""

from __future__ import annotations

import math

import pytest

from trackrun.table import Table, jsonable


def _table() -> Table:
    return Table.from_rows(["name", "loss"], [("a", 0.5), ("b", math.nan), ("c", None)])


def test_rows_columns_and_negative_indexes() -> None:
    table = _table()
    assert len(table) == 3 and table.column_names == ["name", "loss"]
    assert table["name"] == ["a", "b", "c"]
    assert table[0] == {"name": "a", "loss": 0.5} and table[-1]["name"] == "c"
    assert [row["name"] for row in table] == ["a", "b", "c"]
    assert table.to_dicts()[1]["name"] == "b"
    with pytest.raises(IndexError, match="row 3 out of range"):
        table[3]


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        Table({"a": [1, 2], "b": [1]})


def test_empty_table() -> None:
    table = Table({})
    assert len(table) == 0 and list(table) == [] and table.format() == ""


def test_format_cuts_long_cells_and_rows() -> None:
    rows = [(f"run-{i}", "x" * 100) for i in range(60)]
    text = Table.from_rows(["name", "note"], rows).format(max_rows=5, max_width=10)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "note"]
    assert len(lines) == 1 + 5 + 1 and lines[-1] == "... 55 more rows"
    assert lines[1].endswith("x" * 9 + "…")


def test_format_numbers_none_and_newlines() -> None:
    text = Table.from_rows(["v", "s"], [(1 / 3, "a\nb"), (None, ""), (math.inf, "c")]).format()
    assert "0.333333" in text and "a b" in text and "inf" in text


def test_html_escapes_cells() -> None:
    html = Table.from_rows(["<n>"], [("<script>",)])._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;n&gt;" in html


def test_conversions() -> None:
    table = _table()
    assert table.to_pandas()["name"].tolist() == ["a", "b", "c"]
    assert table.to_arrow().num_rows == 3
    assert table.to_duckdb().aggregate("count(*)").fetchall() == [(3,)]


def test_jsonable_replaces_non_finite_numbers_everywhere() -> None:
    value = {"a": [math.nan, math.inf, -math.inf, 1.5], "b": (2, {"c": math.nan})}
    assert jsonable(value) == {
        "a": ["NaN", "Infinity", "-Infinity", 1.5],
        "b": [2, {"c": "NaN"}],
    }
