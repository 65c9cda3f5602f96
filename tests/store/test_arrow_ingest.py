"""The pyarrow reader: the chunks of a pass in one parse, each judged on its own, the same rows as the other paths."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy  # noqa: F401 - loaded, as in a process that has them: the reader is then used
import pyarrow.json  # noqa: F401
import pytest

import trackrun
from trackrun.store import Store, arrowread, fastread
from trackrun.store.fastread import Chunk

from ..conftest import run_python
from .events_on_disk import KEYS, lines_of, metric_events


def _lines(first_seq: int, steps: range) -> list[dict[str, Any]]:
    return [
        {
            "seq": first_seq + i,
            "type": "metrics",
            "time": 1000.0 + s,
            "step": s,
            "values": {k: float(s + j) for j, k in enumerate(KEYS)},
        }
        for i, s in enumerate(steps)
    ]


@pytest.fixture
def con() -> Iterator[Any]:
    connection = duckdb.connect(":memory:")
    yield connection
    arrowread.drop_views(connection)
    connection.close()


def _points(con: Any) -> dict[str, int]:
    union = " UNION ALL ".join(arrowread.views_sql(con))
    return dict(con.execute(f"SELECT file, count(*) FROM ({union}) GROUP BY file").fetchall())


def test_chunks_are_parsed_together_and_each_odd_one_is_left_out(con: Any, tmp_path: Path) -> None:
    good = _lines(1, range(1000))
    good.insert(3, {"seq": 4, "type": "status", "time": 5.0, "status": "running"})
    for i, record in enumerate(good[4:], start=5):
        record["seq"] = i
    varying = _lines(1, range(500))
    for i, record in enumerate(varying):
        if i % 3 == 0:
            del record["values"]["acc"]  # a key not logged at every step
        if i % 5 == 0:
            record["values"]["epoch"] = i // 5  # an integer value
    null = _lines(1, range(100))
    null[50]["values"]["loss"] = None  # Python refuses a null: another path decides
    falling = _lines(1, range(100))
    falling[10]["seq"], falling[11]["seq"] = 12, 11
    blank = lines_of(_lines(1, range(100))).replace(b"\n", b"\n\n", 1)
    twice = lines_of(_lines(1, range(100)))
    twice = twice.replace(b"}\n", b"}", 1)  # two events on one line: not an event line
    text_value = _lines(1, range(100))
    text_value[7]["values"]["other"] = "x"
    chunks = [
        Chunk(lines_of(good), 0, tmp_path / "a", False),
        Chunk(lines_of(varying), 0, tmp_path / "b", False),
        Chunk(lines_of(null), 0, tmp_path / "c", False),
        Chunk(lines_of(falling), 0, tmp_path / "d", False),
        Chunk(blank, 0, tmp_path / "e", False),
        Chunk(twice, 0, tmp_path / "f", False),
        Chunk(lines_of(text_value), 0, tmp_path / "g", False),
        Chunk(lines_of(_lines(1, range(100))), 50, tmp_path / "h", False),  # seen up to seq 50
    ]
    results = arrowread.read_chunks(con, chunks)
    first, second, *odd = results
    assert odd == [None] * 6
    assert first is not None and second is not None
    assert first.count == 4 * 1000 and first.last_seq == 1001
    assert first.others == [good[3]] and first.max_time == 1000.0 + 999
    assert first.key_steps == {k: (0, 999, True) for k in KEYS}
    assert ("acc", 1000.0, 1.0, 1000.0, 1000, 999) in first.summary
    assert second.key_steps["acc"] == (1, 499, True) and second.key_steps["epoch"] == (0, 495, True)
    assert ("epoch", 99.0, 0.0, 99.0, 100, 495) in second.summary
    assert second.count == 4 * 500 - 167 + 100
    assert _points(con) == {first.source: first.count, second.source: second.count}


def test_steps_logged_again_within_a_chunk_are_told(con: Any, tmp_path: Path) -> None:
    records = _lines(1, [*range(10), *range(5, 15)])
    (points,) = arrowread.read_chunks(con, [Chunk(lines_of(records), 0, tmp_path / "a", False)])
    assert points is not None and points.key_steps["loss"] == (0, 14, False)


@pytest.mark.parametrize("step", ['"7"', "7.5", "true", "-1"])
def test_a_chunk_pyarrow_or_the_checks_refuse_is_left_to_the_other_paths(
    con: Any, tmp_path: Path, step: str
) -> None:
    odd = lines_of(_lines(1, range(100))).replace(b'"step": 50,', f'"step": {step},'.encode())
    results = arrowread.read_chunks(
        con,
        [
            Chunk(odd, 0, tmp_path / "a", False),
            Chunk(lines_of(_lines(1, range(10))), 0, tmp_path, False),
        ],
    )
    assert results[0] is None
    if step != "-1":  # pyarrow refuses the joined bytes: no chunk is taken
        assert results == [None, None] and not arrowread.views_sql(con)


# -- the whole ingestion, with and without this reader -------------------------------------
def _passes() -> list[list[dict[str, Any]]]:
    """Appended passes of one run: odd lines among plain ones, a resumed attempt."""
    plain = metric_events(range(3000))
    plain.insert(10, {"type": "params", "values": {"opt": "adam", "layers": [1, 2]}})
    plain.insert(20, {"type": "tags", "add": ["big"], "remove": []})
    for i, record in enumerate(plain[30:], start=30):
        if i % 7 == 0:
            record["values"]["extra"] = i
        if i % 11 == 0:
            del record["values"]["acc"]
    resumed = metric_events(range(2500, 5000), scale=2.0)  # steps logged again: newest wins
    odd = metric_events(range(5000, 8000))
    odd[5]["values"]["loss"] = "NaN"
    odd[6]["values"]["loss"] = None
    odd[7]["values"]["loss"] = True
    odd[8]["step"] = "9"
    later = metric_events(range(8000, 11000))
    later.append({"type": "status", "status": "finished"})
    return [plain, resumed, odd, later]


def _pass_bytes(events: Path, broken_line: bool) -> list[bytes]:
    """The passes of :func:`_passes` as the bytes appended to ``events`` (fixed times)."""
    seq = len(events.read_text().splitlines())
    out = []
    for number, records in enumerate(_passes()):
        lines = []
        for i, record in enumerate(records):
            seq += 1
            lines.append(json.dumps({"seq": seq, "time": 1000.0 * number + i, **record}))
        if broken_line:
            lines.append('{"seq": 1, "type": "metr')
            seq += 1
        out.append(("\n".join(lines) + "\n").encode())
    return out


def _ingested(root: Path, events: Path, run_id: str, passes: list[bytes]) -> list[Any]:
    store = Store(root)
    store.runs()
    for data in passes:
        with open(events, "ab") as f:
            f.write(data)
        store.ingest([run_id])
    tables = {
        "metrics": "*",
        "metric_summary": "*",
        "params": "*",
        "tags": "*",
        "ingest_offsets": "*",
        "quarantine": "run_id, file, byte_offset, seq, reason, line",
        "runs": "* EXCLUDE (status_at)",
    }
    rows = [
        (name, store.sql(f"SELECT {columns} FROM {name} ORDER BY ALL").to_dicts())
        for name, columns in tables.items()
    ]
    store.close()
    return rows


@pytest.mark.parametrize("broken_line", [False, True])
def test_the_same_rows_with_and_without_the_arrow_reader(
    isolated_store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken_line: bool
) -> None:
    run = trackrun.start_run(name="arrow", params={"lr": 0.1})
    run.finish()
    other = tmp_path / "other"
    shutil.copytree(isolated_store, other)
    events = Path(str(run.paths.events).replace(str(isolated_store), str(other)))
    taken: list[int] = []
    read = arrowread.read_chunks

    def counted(con: Any, chunks: list[Chunk]) -> Any:
        results = read(con, chunks)
        taken.append(sum(r is not None for r in results))
        return results

    monkeypatch.setattr(arrowread, "read_chunks", counted)
    passes = _pass_bytes(events, broken_line)
    with_arrow = _ingested(isolated_store, run.paths.events, run.run_id, passes)
    # Each pass but the odd one (which pyarrow refuses whole); none with a broken line.
    assert taken == ([0, 0, 0, 0] if broken_line else [1, 1, 0, 1])
    monkeypatch.setenv("TRACKRUN_ARROW_READER", "0")
    taken.clear()
    without = _ingested(other, events, run.run_id, passes)
    assert not taken
    assert repr(with_arrow) == repr(without)  # (a NaN equals no NaN; its repr does)
    tables = dict(with_arrow)
    assert len(tables["metrics"]) > 4 * 10000
    assert len(tables["quarantine"]) == (4 + 3 if broken_line else 3)


def test_many_small_runs_in_one_parse(
    isolated_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    read = arrowread.read_chunks

    def counted(con: Any, chunks: list[Chunk]) -> Any:
        results = read(con, chunks)
        taken.append(sum(r is not None for r in results))
        return results

    monkeypatch.setattr(arrowread, "read_chunks", counted)
    runs = []
    for n in range(40):
        with trackrun.start_run(name=f"sweep-{n}", params={"n": n}) as run:
            for step in range(200):
                trackrun.log(loss=1.0 / (step + 1), acc=step / 200 + n, step=step)
        runs.append(run.run_id)
    store = Store(isolated_store)
    rows = store.runs(order_by="name")
    assert len(rows["run_id"]) == 40 and taken == [40]
    assert store.sql("SELECT count(*) AS n FROM metrics")["n"] == [40 * 200 * 2]
    by_name = dict(zip(rows["name"], rows["metrics.acc"], strict=True))
    assert by_name["sweep-3"] == pytest.approx(199 / 200 + 3)
    store.close()


def test_a_pass_with_chunks_of_both_native_readers(
    isolated_store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One run's chunk is left to DuckDB's reader (its lines do not start with the seq),
    the other's is pyarrow's: one write joins both, with the same rows as without pyarrow."""
    runs = []
    for name in ("duckdb", "arrow"):
        run = trackrun.start_run(name=name)
        run.finish()
        runs.append(run)
    other = tmp_path / "other"
    shutil.copytree(isolated_store, other)
    chunks = []
    for n, run in enumerate(runs):
        seq = len(run.paths.events.read_text().splitlines())
        lines = []
        for i, record in enumerate(metric_events(range(4000), scale=n + 1.0)):
            event = {"seq": seq + 1 + i, "time": float(i), **record}
            if n == 0:  # the same event, its keys in another order
                event = {"type": event.pop("type"), **event}
            lines.append(json.dumps(event) + "\n")
        chunks.append("".join(lines).encode())
    taken: list[int] = []
    read = arrowread.read_chunks

    def counted(con: Any, given: list[Chunk]) -> Any:
        results = read(con, given)
        taken.append(sum(r is not None for r in results))
        return results

    monkeypatch.setattr(arrowread, "read_chunks", counted)
    by_duckdb: list[int] = []
    duckdb_read = fastread.read_chunks

    def counted_duckdb(con: Any, given: list[Chunk]) -> Any:
        results = duckdb_read(con, given)
        by_duckdb.append(sum(r is not None for r in results))
        return results

    monkeypatch.setattr(fastread, "read_chunks", counted_duckdb)
    answers = []
    for root in (isolated_store, other):
        store = Store(root)
        store.runs()
        for run, data in zip(runs, chunks, strict=True):
            events = Path(str(run.paths.events).replace(str(isolated_store), str(root)))
            with open(events, "ab") as f:
                f.write(data)
        store.ingest([run.run_id for run in runs])
        answers.append(
            [
                store.sql(f"SELECT * FROM {t} ORDER BY ALL").to_dicts()
                for t in ("metrics", "metric_summary")
            ]
        )
        store.close()
        monkeypatch.setenv("TRACKRUN_ARROW_READER", "0")
    assert taken == [1] and by_duckdb == [1, 2]  # (without pyarrow: both chunks)
    assert answers[0] == answers[1] and len(answers[0][0]) == 2 * 4 * 4000


def test_the_arrow_reader_imports_neither_pandas_nor_pyarrow_compute(
    isolated_store: Path,
) -> None:
    """pa.array() and pyarrow.compute import pandas (~0.1-0.5 s): the reader uses neither."""
    run = trackrun.start_run(name="arrow")
    run.finish()
    with open(run.paths.events, "a") as f:
        seq = len(run.paths.events.read_text().splitlines())
        for i, record in enumerate(metric_events(range(3000))):
            f.write(json.dumps({"seq": seq + 1 + i, "time": float(i), **record}) + "\n")
    out = run_python(
        "import sys, numpy, pyarrow.json, trackrun\n"
        "from trackrun.store import arrowread\n"
        "taken = []\n"
        "read = arrowread.read_chunks\n"
        "arrowread.read_chunks = lambda con, c: taken.append(1) or read(con, c)\n"
        "n = len(trackrun.metrics(trackrun.runs()['run_id'][0], 'acc'))\n"
        "print(n, taken, 'pandas' in sys.modules, 'pyarrow.compute' in sys.modules)",
        env={"TRACKRUN_HOME": str(isolated_store)},
    )
    assert out.split() == ["3000", "[1]", "False", "False"]
