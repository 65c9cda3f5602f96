"""trackrun.sql / Store.sql run read-only queries only, and the index cannot be changed through them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import trackrun
from trackrun.errors import StoreError
from trackrun.store import Store


@pytest.fixture
def store(isolated_store: Path) -> Store:
    for i in range(3):
        with trackrun.start_run(name=f"r{i}", params={"i": i}, tags=["t"]):
            for step in range(5):
                trackrun.log(loss=float(step), step=step)
    return Store(isolated_store)


def _state(store: Store) -> list[tuple[object, ...]]:
    return [
        tuple(row.values())
        for row in store.sql(
            "SELECT (SELECT count(*) FROM runs), (SELECT string_agg(name ORDER BY name) FROM runs), "
            "(SELECT string_agg(status) FROM runs), (SELECT count(*) FROM metrics), "
            "(SELECT count(*) FROM params), (SELECT count(*) FROM tags)"
        ).to_dicts()
    ]


@pytest.mark.parametrize(
    "text",
    [
        "DELETE FROM runs",
        "UPDATE runs SET status = 'x'",
        "DROP TABLE runs",
        "ATTACH ':memory:' AS other",
        "COPY runs TO 'runs.csv'",
        "INSTALL httpfs",
        "LOAD json",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO tags VALUES ('a', 'b')",
        "WITH x AS (SELECT 1) DELETE FROM runs",
        "SELECT 1; DELETE FROM runs",
        "PRAGMA force_checkpoint",
        "CHECKPOINT",
        "SET threads = 1",
        "EXPORT DATABASE 'out'",
    ],
)
def test_writes_are_refused_with_a_clear_error(store: Store, text: str, tmp_path: Path) -> None:
    before = _state(store)
    with pytest.raises(StoreError, match="read-only query"):
        store.sql(text)
    assert _state(store) == before
    assert not (tmp_path / "runs.csv").exists()


@pytest.mark.parametrize(
    "text",
    [
        "EXPLAIN ANALYZE DELETE FROM runs",
        "EXPLAIN ANALYZE UPDATE runs SET name = 'x'",
        "SELECT * FROM query('DELETE FROM runs')",
    ],
)
def test_writes_hidden_in_a_query_are_refused_by_duckdb(store: Store, text: str) -> None:
    before = _state(store)
    with pytest.raises((duckdb.Error, StoreError)) as refused:
        store.sql(text)
    assert "read-only" in str(refused.value) or "single SELECT" in str(refused.value)
    assert _state(store) == before
    assert store.runs()["status"] == ["finished"] * 3


@pytest.mark.parametrize(
    "text",
    [
        "SELECT count(*) AS n FROM runs",
        "WITH x AS (SELECT run_id FROM runs) SELECT count(*) AS n FROM x",
        "FROM runs SELECT count(*) AS n",
    ],
)
def test_queries_answer(store: Store, text: str) -> None:
    assert store.sql(text)["n"] == [3]


def test_explain_and_describe_answer(store: Store) -> None:
    assert len(store.sql("EXPLAIN SELECT * FROM metrics")) >= 1
    assert "run_id" in store.sql("DESCRIBE runs")["column_name"]


def test_the_public_api_is_read_only_too(store: Store) -> None:
    with pytest.raises(StoreError, match="read-only query"):
        trackrun.sql("DELETE FROM runs")
    assert len(trackrun.runs()) == 3
    # The index keeps working for writers afterwards (a new run is ingested).
    with trackrun.start_run(name="later"):
        trackrun.log(loss=1.0, step=0)
    assert len(trackrun.runs()) == 4
