"""The Store's reads: remembered answers, what invalidates them, first looks, liveness."""

from __future__ import annotations

import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import trackrun
from trackrun.events import append_event
from trackrun.store import Store
from trackrun.table import jsonable

from ..conftest import run_python


def _make_runs(count: int, **params: Any) -> list[str]:
    ids = []
    for i in range(count):
        with trackrun.start_run(params={"i": i, **params}, tags=[f"t{i % 2}"]) as run:
            for step in range(5):
                trackrun.log(loss=float(step * i), acc=step / 10 + i, step=step)
        ids.append(run.run_id)
    return ids


@contextmanager
def _index_locked_elsewhere(root: Path) -> Iterator[None]:
    """Hold the store's index lock as another process would (a separate open file)."""
    fd = os.open(root / "index.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _finishes_within(call: Callable[[], Any], seconds: float) -> tuple[bool, Any]:
    """Run ``call`` in a thread; (whether it returned within ``seconds``, its result)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), (result[0] if result else None)


def _write_old_run(root: Path, run_id: str, hours_ago: float = 1.0) -> None:
    """A finished run whose events are old (quiet), written in the run directory format."""
    folder = root / "runs" / run_id
    folder.mkdir(parents=True)
    created = time.time() - hours_ago * 3600
    record = {"format_version": 1, "run_id": run_id, "name": run_id[-6:], "created_at": created}
    (folder / "run.json").write_text(json.dumps({**record, "params": {"a": 1}, "tags": []}))
    events = [
        {"seq": 1, "type": "status", "time": created + 1, "status": "running"},
        {"seq": 2, "type": "metrics", "time": created + 2, "step": 0, "values": {"x": 1.0}},
        {"seq": 3, "type": "status", "time": created + 3, "status": "finished"},
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    os.utime(folder, (created, created))


def test_unchanged_store_answers_without_opening_the_index(isolated_store: Path) -> None:
    (first, second) = _make_runs(2)
    store = Store(isolated_store, lease=0)
    before = store.runs()
    assert store.summary(first)["params"] == {"i": 0}
    assert len(store.metrics(first)) == 10
    with _index_locked_elsewhere(isolated_store):
        done, table = _finishes_within(store.runs, 5)
        assert done, "an unchanged store was answered from the index, which is locked"
        assert table.to_dicts() == before.to_dicts()
        done, info = _finishes_within(lambda: store.summary(first), 5)
        assert done and info["params"] == {"i": 0}
        done, history = _finishes_within(lambda: store.metrics(first), 5)
        assert done and len(history) == 10
        # What a caller does to an answer never changes the next one.
        table["tags"][0].append("mine")
        info["params"]["i"] = 99
        assert store.runs()["tags"][0] != table["tags"][0]
        assert store.summary(first)["params"] == {"i": 0}
        # A run directory that changes makes the next read go to the index (and wait).
        append_event(isolated_store / "runs" / second / "events.jsonl", "tags", add=["late"])
        done, _ = _finishes_within(store.runs, 0.5)
        assert not done
    after = store.runs()
    row = after[after["run_id"].index(second)]
    assert "late" in row["tags"]


def test_durations_of_running_runs_grow_in_remembered_answers(isolated_store: Path) -> None:
    run = trackrun.start_run()
    trackrun.log(loss=1.0)
    run.flush()
    store = Store(isolated_store)
    first = store.runs()["duration"][0]
    time.sleep(0.2)
    second = store.runs()["duration"][0]
    assert first is not None and second > first
    trackrun.finish()
    assert store.runs()["status"] == ["finished"]


def test_another_writer_of_the_index_invalidates_remembered_answers(isolated_store: Path) -> None:
    _write_old_run(isolated_store, "20260101-000000-aaaaaa")
    reader = Store(isolated_store, lease=0)
    assert reader.runs()["tags"] == [[]]
    # The run is quiet (ended an hour ago), so the reader no longer looks at its files; a
    # second Store (as another process would) adds a tag and ingests it: the index changed.
    other = Store(isolated_store, lease=0)
    events = isolated_store / "runs" / "20260101-000000-aaaaaa" / "events.jsonl"
    with other.connection(refresh=False):
        append_event(events, "tags", add=["seen"])
    other.ingest(["20260101-000000-aaaaaa"])
    assert reader.runs()["tags"] == [["seen"]]
    assert reader.summary("20260101-000000-aaaaaa")["tags"] == ["seen"]


def test_first_look_of_a_new_process_reads_grown_files_and_new_ones(isolated_store: Path) -> None:
    (recent,) = _make_runs(1)
    _write_old_run(isolated_store, "20260101-000000-cccccc")
    Store(isolated_store, lease=0).runs()
    folder = isolated_store / "runs"
    # Appended to an indexed file of a run that ended moments ago.
    append_event(folder / recent / "events.jsonl", "tags", add=["grew"])
    # A new event file in a run that ended long ago (its directory changed after its last
    # indexed event).
    append_event(folder / "20260101-000000-cccccc" / "events.observer.jsonl", "tags", add=["new"])
    fresh = Store(isolated_store, lease=0).runs(order_by="id")
    assert fresh["run_id"] == sorted([recent, "20260101-000000-cccccc"])
    assert sorted(tag for tags in fresh["tags"] for tag in tags) == ["grew", "new", "t0"]
    # Nothing changed since: a third process reads nothing again and answers the same.
    again = Store(isolated_store, lease=0).runs(order_by="id")
    assert again["tags"] == fresh["tags"]


def test_writes_through_connection_drop_remembered_answers(isolated_store: Path) -> None:
    (run_id,) = _make_runs(1)
    store = Store(isolated_store)
    assert store.runs()["name"] != ["renamed"]
    with store.connection() as con:
        con.execute("SELECT count(*) FROM runs").fetchall()
    with store.connection() as con:
        con.execute("UPDATE runs SET name = 'renamed' WHERE run_id = ?", [run_id])
    assert store.runs()["name"] == ["renamed"]
    with store.connection() as con:
        con.execute("UPDATE runs SET name = 'again'")
    assert store.summary(run_id)["name"] == "again"


@pytest.mark.slow
def test_killed_writer_is_marked_lost_after_an_answer_was_remembered(isolated_store: Path) -> None:
    code = """
import time, trackrun
run = trackrun.start_run(name="victim")
trackrun.log(x=1.0)
run.flush()
print(run.run_id, flush=True)
time.sleep(60)
"""
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    store = Store(isolated_store)
    assert store.runs()["status"] == ["running"]
    assert store.runs()["status"] == ["running"]  # remembered
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
    assert store.runs()["status"] == ["lost"]
    assert store.summary(run_id)["status"] == "lost"


@pytest.mark.slow
def test_a_run_another_process_ended_is_not_marked_lost(isolated_store: Path) -> None:
    code = """
import time, trackrun
run = trackrun.start_run(name="victim")
trackrun.log(x=1.0)
run.flush()
print(run.run_id, flush=True)
time.sleep(60)
"""
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    watcher = Store(isolated_store)
    assert watcher.runs()["status"] == ["running"]
    # Another process records the kill and ingests it; then the run's process dies.
    killer = Store(isolated_store)
    observer = isolated_store / "runs" / run_id / "events.observer.jsonl"
    with killer.connection(refresh=False):
        append_event(observer, "status", status="killed", error="killed by the user")
    killer.ingest([run_id])
    killer.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
    assert watcher.runs()["status"] == ["killed"]
    assert "lost" not in observer.read_text()


def test_listing_many_runs_matches_each_runs_summary(isolated_store: Path) -> None:
    ids = _make_runs(12)
    with trackrun.start_run(params={"only": "here"}) as odd:
        trackrun.log(other=2.0, step=0)
    store = Store(isolated_store)
    table = store.runs(order_by="id")
    assert table["run_id"] == sorted([*ids, odd.run_id])
    for row in table:
        info = store.summary(row["run_id"])
        assert row["tags"] == info["tags"]
        for key, value in info["params"].items():
            assert row[f"params.{key}"] == value
        for key, summary in info["metrics"].items():
            assert row[f"metrics.{key}"] == summary["last"]
            assert row[f"metrics.{key}.min"] == summary["min"]
            assert row[f"metrics.{key}.max"] == summary["max"]
    assert [c for c in table.column_names if c.startswith(("params.", "metrics."))] == [
        "params.i",
        "params.only",
        "metrics.acc",
        "metrics.acc.max",
        "metrics.acc.min",
        "metrics.loss",
        "metrics.loss.max",
        "metrics.loss.min",
        "metrics.other",
        "metrics.other.max",
        "metrics.other.min",
    ]
    # A page of a few runs (selected by id) agrees with the full listing.
    page = store.runs(order_by="id", limit=3, offset=2)
    assert page["run_id"] == table["run_id"][2:5]
    for name in page.column_names:
        assert page[name] == table[name][2:5]
    filtered = store.runs("params.i >= 10", order_by="id")
    assert sorted(filtered["params.i"]) == [10, 11]


def test_metric_summary_folds_in_each_flush(isolated_store: Path) -> None:
    run = trackrun.start_run()
    store = Store(isolated_store)
    values = [3.0, math.nan, -1.0, 7.5, math.nan, 2.0]
    for step, value in enumerate(values):
        trackrun.log(x=value, step=step)
        run.flush()
        summary = store.summary(run.run_id)["metrics"]["x"]
        seen = [v for v in values[: step + 1] if not math.isnan(v)]
        assert summary["count"] == step + 1 and summary["last_step"] == step
        assert summary["min"] == min(seen) and summary["max"] == max(seen)
        last = summary["last"]
        assert (math.isnan(last) and math.isnan(value)) or last == value
    trackrun.finish()
    history = store.metrics(run.run_id, ["x"])
    assert history["step"] == list(range(6))
    assert [math.isnan(v) for v in history["value"]] == [math.isnan(v) for v in values]


def test_history_of_several_keys_is_ordered_by_key_then_step(isolated_store: Path) -> None:
    with trackrun.start_run() as run:
        for step in (5, 3, 9, 0):  # logged out of order
            trackrun.log(b=float(step), a=-float(step), step=step)
        trackrun.log(c=1.0)
    history = Store(isolated_store).metrics(run.run_id)
    assert history["key"] == ["a"] * 4 + ["b"] * 4 + ["c"]
    assert history["step"] == [0, 3, 5, 9, 0, 3, 5, 9, 0]
    assert history["value"][:4] == [-0.0, -3.0, -5.0, -9.0]
    two = Store(isolated_store).metrics(run.run_id, ["c", "b"])
    assert two["key"] == ["b"] * 4 + ["c"] and two["step"] == [0, 3, 5, 9, 0]


def test_bad_metric_events_are_skipped_and_the_rest_ingested(
    isolated_store: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (run_id,) = _make_runs(1)
    events = isolated_store / "runs" / run_id / "events.jsonl"
    seq = len(events.read_text().splitlines())
    bad = [
        {"type": "metrics", "time": time.time(), "step": 10, "values": {"y": "high"}},
        {"type": "metrics", "time": time.time(), "step": "ten", "values": {"y": 1.0}},
        {"type": "metrics", "time": time.time(), "step": 11, "values": {"y": None}},
        {"type": "metrics", "time": time.time(), "step": 12, "values": {"y": 5.0}},
    ]
    with open(events, "a") as f:
        for n, event in enumerate(bad, start=seq + 1):
            f.write(json.dumps({"seq": n, **event}) + "\n")
    store = Store(isolated_store)
    assert store.metrics(run_id, ["y"])["value"] == [5.0]
    assert "3 event line(s) of run" in capfd.readouterr().err
    assert store.sql("SELECT count(*) AS n FROM quarantine")["n"] == [3]


def test_a_query_with_nothing_to_ingest_imports_neither_pyarrow_nor_numpy(
    isolated_store: Path,
) -> None:
    _make_runs(2)
    Store(isolated_store).runs()  # builds the index
    out = run_python(
        "import sys, trackrun\n"
        "n = len(trackrun.runs())\n"
        "print(n, 'pyarrow' in sys.modules, 'numpy' in sys.modules, 'pandas' in sys.modules,\n"
        "      'trackrun.store.points' in sys.modules, 'trackrun.store.ingest' in sys.modules)",
        env={"TRACKRUN_HOME": str(isolated_store)},
    )
    # Nor the ingest and row-writing modules (~15 ms of imports a cold query never needs).
    assert out.split() == ["2", "False", "False", "False", "False", "False"]


def test_small_ingestions_without_numpy_match_numpy_ones(isolated_store: Path) -> None:
    # A fresh process that never imported numpy hands small batches to DuckDB as list
    # parameters; this process (numpy imported) registers numpy arrays. Same index either way.
    code = """
import json, math, sys, trackrun
from trackrun.table import jsonable
with trackrun.start_run(params={"lr": 1e-3, "opt": "adam", "layers": [1, 2], "x": None}) as run:
    for step in range(6):
        trackrun.log(loss=[1.5, math.nan, -math.inf, 2.0, 0.5, 3.0][step], step=step)
    for step in range(3, 8):  # a resumed attempt re-logs steps 3-5
        trackrun.log(loss=10.0 + step, acc=step / 10, step=step)
    for step in (5, 3, 9, 0):  # out of order
        trackrun.log(z=float(step), step=step)
    trackrun.tag("a", "b")
with trackrun.start_run(tags=["solo"]) as other:
    trackrun.log({'weird "key"': 1})
out = {
    "numpy": "numpy" in sys.modules,
    "table": jsonable(trackrun.runs(order_by="id").to_dicts()),
    "history": {r.run_id: jsonable(trackrun.metrics(r.run_id).to_dicts()) for r in (run, other)},
}
print(json.dumps(out))
"""
    out = json.loads(run_python(code, env={"TRACKRUN_HOME": str(isolated_store)}))
    assert out["numpy"] is False
    store = Store(isolated_store)
    assert store.reindex() == 2
    table = jsonable(store.runs(order_by="id").to_dicts())
    for row in (*table, *out["table"]):
        row.pop("duration")
    assert out["table"] == table
    first_id = next(iter(out["history"]))
    first = next(row for row in table if row["run_id"] == first_id)
    assert first["metrics.loss"] == 17.0 and first["tags"] == ["a", "b"]
    for run_id, history in out["history"].items():
        assert history == jsonable(store.metrics(run_id).to_dicts())
    z = [p["step"] for p in out["history"][first_id] if p["key"] == "z"]
    assert z == [0, 3, 5, 9]
    loss = [p for p in out["history"][first_id] if p["key"] == "loss"]
    assert [p["value"] for p in loss] == [1.5, "NaN", "-Infinity", 13.0, 14.0, 15.0, 16.0, 17.0]
