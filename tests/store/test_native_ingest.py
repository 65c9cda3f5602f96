"""The native reader: several runs' large chunks in one scan, each judged on its own."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import trackrun
from trackrun.store import Store, fastread
from trackrun.store.fastread import MIN_BYTES, RAW_TABLE, Chunk, read_chunks

from .events_on_disk import KEYS, append_events, lines_of, metric_events, points_of


def _lines(first_seq: int, steps: range, scale: float = 1.0) -> list[dict[str, Any]]:
    return [
        {
            "seq": first_seq + i,
            "type": "metrics",
            "time": 1000.0 + s,
            "step": s,
            "values": {k: scale * (s + j) for j, k in enumerate(KEYS)},
        }
        for i, s in enumerate(steps)
    ]


@pytest.fixture
def con() -> Iterator[Any]:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def _raw_points(con: Any) -> dict[str, int]:
    return dict(
        con.execute(
            f"SELECT file, count(*) FROM {fastread.raw_points(con, [])} GROUP BY file"
        ).fetchall()
    )


def test_several_chunks_are_read_in_one_call_and_a_bad_one_is_left_out(
    con: Any, tmp_path: Path
) -> None:
    good = lines_of(_lines(1, range(3000)))
    skipping = lines_of([{**r, "seq": 2 * r["seq"]} for r in _lines(1, range(3000))])
    bad = _lines(1, range(3000))
    bad[1500]["values"]["loss"] = None  # Python refuses a null: the line-by-line reader decides
    whole = tmp_path / "events.jsonl"
    whole.write_bytes(good)
    chunks = [
        Chunk(good, 0, whole, True),  # read from the event file itself
        Chunk(skipping, 0, tmp_path / "a.jsonl", False),  # from a private copy
        Chunk(lines_of(bad), 0, tmp_path / "b.jsonl", False),
    ]
    results = read_chunks(con, chunks)
    assert results[2] is None
    first, second = results[0], results[1]
    assert first is not None and second is not None
    assert first.source == str(whole)
    assert first.count == second.count == 4 * 3000
    assert first.key_steps == {k: (0, 2999, True) for k in KEYS}
    assert second.last_seq == 6000 and first.last_seq == 3000
    assert first.max_time == 1000.0 + 2999
    assert _raw_points(con) == {first.source: 4 * 3000, second.source: 4 * 3000}
    # Its summary rows are those of its points.
    summary = {row[0]: row for row in first.summary}
    assert summary["acc"] == ("acc", 3000.0, 1.0, 3000.0, 3000, 2999)


def test_a_file_that_spoils_the_scan_is_read_alone_and_the_others_kept(
    con: Any, tmp_path: Path
) -> None:
    broken = lines_of(_lines(1, range(2000))) + b'{"seq": 2001, "type": "metrics", "st\n'
    params = _lines(1, range(2000))
    params.insert(5, {"seq": 6, "type": "params", "values": {"opt": "adam"}})
    for i, record in enumerate(params[6:], start=7):
        record["seq"] = i
    results = read_chunks(
        con,
        [
            Chunk(lines_of(_lines(1, range(2000))), 0, tmp_path / "a", False),
            Chunk(broken, 0, tmp_path / "b", False),  # DuckDB refuses the whole scan for it
            Chunk(lines_of(params), 0, tmp_path / "c", False),  # values that are not numbers
        ],
    )
    first, refused, with_params = results
    assert refused is None and first is not None and with_params is not None
    assert with_params.others == [params[5]] and with_params.count == 4 * 2000
    assert _raw_points(con) == {first.source: 8000, with_params.source: 8000}


def test_a_later_call_adds_to_the_raw_table_and_is_judged_alone(con: Any, tmp_path: Path) -> None:
    (first,) = read_chunks(con, [Chunk(lines_of(_lines(1, range(2000))), 0, tmp_path / "x", False)])
    out_of_order = _lines(1, range(2000))
    out_of_order[10]["seq"], out_of_order[11]["seq"] = 12, 11
    later = read_chunks(
        con,
        [
            Chunk(lines_of(_lines(1, range(2000))), 0, tmp_path / "y", False),
            Chunk(lines_of(out_of_order), 0, tmp_path / "z", False),
        ],
    )
    assert first is not None and later[0] is not None and later[1] is None
    assert _raw_points(con) == {first.source: 8000, later[0].source: 8000}
    assert first.source != later[0].source


def test_what_only_python_judges_right_goes_line_by_line(con: Any, tmp_path: Path) -> None:
    def one(change: dict[str, Any], last_seq: int = 0) -> fastread.Points | None:
        records = _lines(1, range(1000))
        records[500].update(change)
        (result,) = read_chunks(con, [Chunk(lines_of(records), last_seq, tmp_path / "c", False)])
        return result

    assert one({}) is not None
    for untimed in ({"time": "1.5"}, {"time": None}):
        points = one(untimed)  # no time, as Python reads it (not 1.5)
        assert points is not None and points.max_time == 1000.0 + 999
        assert con.execute(
            f'SELECT "time" FROM {RAW_TABLE} WHERE file = ? AND step = 500', [points.source]
        ).fetchall() == [(None,)]
    assert one({}, last_seq=1) is None  # a seq not above the stored one
    for change in (
        {"step": 7.0},  # Python takes it as step 7; DuckDB's typed reader would too
        {"step": "7"},
        {"step": True},
        {"seq": "501"},
        {"time": 10**400},  # Python drops a time no double holds; DuckDB reads an infinity
        {"time": True},  # (a true in a metrics line: judged by the bytes already)
        {"values": {"loss": True}},
        {"values": {"loss": 10**400}},
        {"values": {"\ud800": 1.0}},
        {"values": None},
    ):
        assert one(change) is None, change


def test_keys_at_the_same_step_in_separate_events_are_not_taken_as_rising(
    con: Any, tmp_path: Path
) -> None:
    records = []
    for s in range(2000):
        records.append({"seq": 2 * s + 1, "type": "metrics", "step": s, "values": {"a": 1.0}})
        records.append({"seq": 2 * s + 2, "type": "metrics", "step": s, "values": {"b": 2.0}})
    again = [*records, {"seq": 4001, "type": "metrics", "step": 5, "values": {"a": 9.0}}]
    (separate, relogged) = read_chunks(
        con,
        [
            Chunk(lines_of(records), 0, tmp_path / "s", False),
            Chunk(lines_of(again), 0, tmp_path / "r", False),
        ],
    )
    assert separate is not None and relogged is not None
    assert separate.key_steps == {"a": (0, 1999, True), "b": (0, 1999, True)}
    assert relogged.key_steps["a"] == (0, 1999, False)  # step 5 again: re-logged


# -- through the store -------------------------------------------------------------------------
def _run(name: str) -> tuple[str, Path]:
    run = trackrun.start_run(name=name)
    run.finish()
    return run.run_id, run.paths.events


def test_a_pass_over_several_grown_runs_with_one_bad_line(
    isolated_store: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    runs = [_run(f"r{i}") for i in range(3)]
    for i, (_, events) in enumerate(runs):
        records = metric_events(range(4000), scale=i + 1.0)
        if i == 1:
            records.insert(2000, {"type": "metrics", "step": 99, "values": {"loss": "high"}})
            records.insert(3000, {"type": "metrics", "step": 3000.0, "values": {"extra": 5.0}})
        append_events(events, records)
        assert events.stat().st_size > MIN_BYTES
    store = Store(isolated_store)
    table = store.runs()
    assert len(table) == 3
    for i, (run_id, _) in enumerate(runs):
        assert points_of(store, run_id, "acc") == [(s, (i + 1.0) * (s + 1)) for s in range(4000)]
        summary = store.summary(run_id)["metrics"]["loss"]
        assert summary["count"] == 4000 and summary["last"] == (i + 1.0) * 3999
    bad_run = runs[1][0]
    assert store.sql("SELECT run_id FROM quarantine")["run_id"] == [bad_run]
    assert points_of(store, bad_run, "extra") == [(3000, 5.0)]  # a step 3000.0 is step 3000
    assert capfd.readouterr().err.count("quarantined") == 1
    assert store.sql("SELECT count(*) AS n FROM metrics")["n"] == [3 * 4 * 4000 + 1]
    before = store.sql("SELECT * FROM metrics ORDER BY run_id, key, step").to_dicts()
    assert store.reindex() == 3
    assert store.sql("SELECT * FROM metrics ORDER BY run_id, key, step").to_dicts() == before


def test_a_resumed_attempt_replaces_points_across_passes_and_files(isolated_store: Path) -> None:
    run_id, events = _run("resumed")
    append_events(events, metric_events(range(3000)))
    store = Store(isolated_store)
    assert len(points_of(store, run_id, "loss")) == 3000
    # The next pass: the attempt re-logs from step 2000 in the large chunk of events.jsonl,
    # and another event file of the run re-logs steps 2500-2509 after it (newest wins).
    append_events(events, metric_events(range(2000, 5000), scale=-1.0))
    other = events.with_name("events.observer.jsonl")
    other.write_text(
        "".join(
            json.dumps({"seq": n + 1, "type": "metrics", "time": 1.0, "step": s, "values": r})
            + "\n"
            for n, (s, r) in enumerate((s, {"loss": 0.5}) for s in range(2500, 2510))
        )
    )
    history = dict(points_of(store, run_id, "loss"))
    assert sorted(history) == list(range(5000))
    assert history[1999] == 1999.0 and history[2000] == -2000.0
    assert history[2505] == 0.5 and history[4999] == -4999.0
    summary = store.summary(run_id)["metrics"]["loss"]
    assert summary["count"] == 5000 and summary["last"] == -4999.0 and summary["max"] == 1999.0
    store.reindex()
    assert dict(points_of(store, run_id, "loss")) == history


def test_a_large_chunk_with_an_untimed_line(isolated_store: Path) -> None:
    run_id, events = _run("times")
    records = metric_events(range(4000))
    append_events(events, records)
    with open(events, "a") as f:
        f.write(json.dumps({"seq": 10_001, "type": "metrics", "step": 5000, "values": {"x": 1}}))
        f.write("\n")
    store = Store(isolated_store)
    assert store.metrics(run_id, ["x"])["wall_time"] == [None]
    assert math.isfinite(store.metrics(run_id, ["loss"])["wall_time"][0])


@pytest.mark.parametrize(
    ("odd_line", "quarantined"),
    [
        ("", 0),  # a blank line: skipped by both readers
        ('{"seq": 90001, "type": "metrics", "step": 1, "values": {"x": 1}} {"seq": 90002}', 1),
        ('{"seq": 90001, "type": "metrics", "step": 1, "values": {"x": 1}', 1),  # cut short
    ],
)
def test_a_large_chunk_with_a_line_that_is_not_one_event(
    isolated_store: Path, odd_line: str, quarantined: int
) -> None:
    run_id, events = _run("odd")
    append_events(events, metric_events(range(4000)))
    with open(events, "a") as f:
        f.write(odd_line + "\n")
    append_events(events, metric_events(range(4000, 4100)))
    store = Store(isolated_store)
    assert points_of(store, run_id, "acc") == [(s, float(s + 1)) for s in range(4100)]
    assert store.sql("SELECT count(*) AS n FROM quarantine")["n"] == [quarantined]


def test_a_store_whose_path_reads_as_a_pattern(tmp_path: Path) -> None:
    # DuckDB reads a file name with * or ? as a pattern: a sibling folder it matches must
    # not be read with the run's own file.
    store_root = tmp_path / "st*re"
    run = trackrun.start_run(name="star", store=store_root)
    run.finish()
    append_events(run.paths.events, metric_events(range(4000)))
    sibling = tmp_path / "stXre" / "runs" / run.run_id
    sibling.parent.mkdir(parents=True)
    shutil.copytree(run.paths.root, sibling)
    append_events(sibling / "events.jsonl", metric_events(range(4000, 4100)))
    store = Store(store_root)
    assert points_of(store, run.run_id, "acc") == [(s, float(s + 1)) for s in range(4000)]
    store.close()


@pytest.mark.parametrize("merge", [True, False])
def test_appended_chunks_fold_into_the_summary(
    isolated_store: Path, monkeypatch: pytest.MonkeyPatch, merge: bool
) -> None:
    from trackrun.store import points

    # DuckDB before 1.4 has no MERGE: the summary is folded with UPDATE and INSERT.
    monkeypatch.setattr(points, "_HAS_MERGE", merge and points._HAS_MERGE)
    run_id, events = _run("folded")
    append_events(events, metric_events(range(3000)))
    store = Store(isolated_store)
    assert store.summary(run_id)["metrics"]["loss"]["count"] == 3000
    append_events(events, metric_events(range(3000, 6000), scale=-1.0))  # natively
    append_events(events, [{"type": "metrics", "step": 6000, "values": {"new": 1.0, "acc": 7.0}}])
    store.ingest([run_id])
    metrics = store.summary(run_id)["metrics"]
    assert metrics["loss"]["count"] == 6000 and metrics["loss"]["last"] == -5999.0
    assert metrics["loss"]["min"] == -5999.0 and metrics["loss"]["max"] == 2999.0
    assert metrics["acc"]["count"] == 6001 and metrics["acc"]["last"] == 7.0
    assert metrics["new"]["count"] == 1
    append_events(
        events, [{"type": "metrics", "step": 6001, "values": {"new": -2.0, "other": 3.0}}]
    )
    store.ingest([run_id])  # a small chunk: read line by line, its summary computed in SQL
    metrics = store.summary(run_id)["metrics"]
    assert metrics["new"] == {**metrics["new"], "count": 2, "last": -2.0, "min": -2.0, "max": 1.0}
    assert metrics["other"]["count"] == 1 and metrics["loss"]["count"] == 6000
