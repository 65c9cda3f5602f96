"""Ingestion into index.duckdb under real concurrency, kills, corruption and re-reads."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackrun
from trackrun.store import Store

WRITER = """
import sys, trackrun
n = int(sys.argv[1])
with trackrun.start_run(name=sys.argv[2], params={"writer": sys.argv[2]}) as run:
    for i in range(n):
        trackrun.log(loss=i * 0.5, acc=float(i), step=i)
"""

QUERIER = """
import os, sys, time, trackrun
from trackrun.store import Store
store = Store()
stop = sys.argv[1]
queries = 0
while not os.path.exists(stop):
    store.runs("metrics.loss > -1 or status = running")
    store.count()
    queries += 1
print(queries)
"""


@pytest.mark.slow
def test_eight_writers_and_a_querying_process_lose_nothing(isolated_store: Path) -> None:
    points = 50_000
    stop = isolated_store.parent / "stop"
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store)}
    querier = subprocess.Popen(
        [sys.executable, "-c", QUERIER, str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(points), f"w{i}"],
            env=env,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err.decode()
    stop.touch()
    query_out, query_err = querier.communicate(timeout=60)
    assert querier.returncode == 0, query_err.decode()
    assert int(query_out) >= 2, "the querier really queried while the writers wrote"
    assert b"Error" not in query_err and b"Traceback" not in query_err, query_err.decode()

    store = Store(isolated_store)
    table = store.runs()
    assert sorted(table["params.writer"]) == [f"w{i}" for i in range(8)]
    assert set(table["status"]) == {"finished"}
    counts = store.sql(
        "SELECT run_id, key, count(*) AS n, count(DISTINCT step) AS d, max(step) AS top "
        "FROM metrics GROUP BY run_id, key"
    )
    assert len(counts) == 16
    assert set(counts["n"]) == {points} and set(counts["d"]) == {points}
    assert set(counts["top"]) == {points - 1}
    assert set(table["metrics.acc"]) == {float(points - 1)}
    store.close()


@pytest.mark.slow
def test_sigkilled_writer_loses_at_most_the_last_flush_interval(isolated_store: Path) -> None:
    code = """
import time, trackrun
run = trackrun.start_run(name="victim")
print(run.run_id, flush=True)
i = 0
while True:
    trackrun.log(step=i, t=time.time())
    i += 1
    time.sleep(0.001)
"""
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store), "TRACKRUN_FLUSH_INTERVAL": "0.5"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    time.sleep(2.5)
    killed_at = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()

    store = Store(isolated_store)
    history = store.metrics(run_id, ["t"])
    assert len(history) > 100
    steps = history["step"]
    assert steps == list(range(len(steps))), "points up to the kill are contiguous"
    last_logged_time = max(history["value"])
    assert killed_at - last_logged_time <= 0.5 + 0.25  # flush interval plus scheduling slack
    # Liveness: the process is gone, so the run reads as lost, not running.
    assert store.summary(run_id)["status"] == "lost"
    store.close()


def _make_runs(count: int) -> list[str]:
    ids = []
    for i in range(count):
        with trackrun.start_run(params={"i": i}, tags=["t"]) as run:
            for step in range(20):
                trackrun.log(loss=step * i, step=step)
        ids.append(run.run_id)
    return ids


def _fingerprint(store: Store) -> list[tuple[object, ...]]:
    return store.sql(
        "SELECT r.run_id, r.status, (SELECT count(*) FROM metrics m WHERE m.run_id = r.run_id), "
        "(SELECT sum(value) FROM metrics m WHERE m.run_id = r.run_id), "
        "(SELECT string_agg(tag) FROM tags t WHERE t.run_id = r.run_id), "
        "(SELECT string_agg(value_json) FROM params p WHERE p.run_id = r.run_id) "
        "FROM runs r ORDER BY r.run_id"
    ).to_dicts()  # type: ignore[return-value]


def test_deleted_index_is_rebuilt_with_all_data(isolated_store: Path) -> None:
    _make_runs(3)
    store = Store(isolated_store, lease=0)
    before = _fingerprint(store)
    assert len(before) == 3
    os.unlink(isolated_store / "index.duckdb")
    assert _fingerprint(Store(isolated_store, lease=0)) == before


@pytest.mark.parametrize("garbage", [b"this is not a database" * 100, b""])
def test_corrupt_index_is_rebuilt_with_a_warning(
    isolated_store: Path, garbage: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    _make_runs(3)
    before = _fingerprint(Store(isolated_store, lease=0))
    (isolated_store / "index.duckdb").write_bytes(garbage)
    after = _fingerprint(Store(isolated_store, lease=0))
    assert after == before
    if garbage:
        err = capfd.readouterr().err
        assert "rebuilding it from the run directories" in err
        assert len(err.strip().splitlines()) == 1


def test_truncated_index_is_rebuilt(isolated_store: Path) -> None:
    _make_runs(2)
    store = Store(isolated_store, lease=0)
    before = _fingerprint(store)
    index = isolated_store / "index.duckdb"
    data = index.read_bytes()
    index.write_bytes(data[: len(data) // 3])
    assert _fingerprint(Store(isolated_store, lease=0)) == before


def test_reindex_command_rebuilds(isolated_store: Path) -> None:
    _make_runs(2)
    store = Store(isolated_store, lease=0)
    before = _fingerprint(store)
    assert store.reindex() == 2
    assert _fingerprint(store) == before


def test_reingesting_a_file_is_idempotent(isolated_store: Path) -> None:
    ids = _make_runs(2)
    store = Store(isolated_store, lease=0)
    before = _fingerprint(store)
    # Forget the byte offsets: the files are re-read from 0 and the sequence numbers keep
    # every event from being applied twice.
    with store.connection() as con:
        con.execute("UPDATE ingest_offsets SET byte_offset = 0")
    store.ingest(ids)
    assert _fingerprint(store) == before
    # And ingesting again with nothing new changes nothing.
    store.ingest(ids)
    assert _fingerprint(store) == before


def test_half_written_line_is_not_ingested_until_complete(isolated_store: Path) -> None:
    (run_id,) = _make_runs(1)
    events = isolated_store / "runs" / run_id / "events.jsonl"
    line = json.dumps(
        {"seq": 10_000, "type": "metrics", "time": time.time(), "step": 99, "values": {"late": 7.0}}
    )
    with open(events, "a") as f:
        f.write(line[:20])
    store = Store(isolated_store, lease=0)
    assert "late" not in store.summary(run_id)["metrics"]
    with open(events, "a") as f:
        f.write(line[20:] + "\n")
    assert store.summary(run_id)["metrics"]["late"]["last"] == 7.0


def test_copied_run_directory_is_picked_up_and_removed_one_dropped(
    isolated_store: Path, tmp_path: Path
) -> None:
    import shutil

    (run_id,) = _make_runs(1)
    store = Store(isolated_store, lease=0)
    assert len(store.runs()) == 1
    other = tmp_path / "colleague"
    shutil.copytree(isolated_store / "runs" / run_id, other / "runs" / run_id)
    colleague = Store(other, lease=0)
    assert colleague.runs()["run_id"] == [run_id]
    shutil.rmtree(isolated_store / "runs" / run_id)
    assert len(store.runs()) == 0


def test_resumed_steps_replace_earlier_points(isolated_store: Path) -> None:
    run = trackrun.start_run()
    for step in range(10):
        trackrun.log(loss=float(step), step=step)
    run.flush()
    store = Store(isolated_store, lease=0)
    assert store.summary(run.run_id)["metrics"]["loss"]["count"] == 10
    for step in range(5, 12):  # a retried attempt resuming from step 5
        trackrun.log(loss=100.0 + step, step=step)
    trackrun.finish()
    history = store.metrics(run.run_id, ["loss"])
    assert history["step"] == list(range(12))
    assert history["value"][:5] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert history["value"][5:] == [100.0 + s for s in range(5, 12)]
    assert store.summary(run.run_id)["metrics"]["loss"]["last"] == 111.0


def test_sql_injection_in_filters_is_harmless(isolated_store: Path) -> None:
    from trackrun.errors import FilterError

    _make_runs(2)
    store = Store(isolated_store, lease=0)
    for text in (
        "name = '; DROP TABLE runs; --",
        "'; DROP TABLE runs; --",
        "read_csv('/etc/passwd')",
        'name ~ "x\') OR 1=1 --"',
        'params."x\'; DROP TABLE params; --" = 1',
    ):
        try:
            table = store.runs(text)
        except FilterError:
            continue
        assert len(table) == 0, text
    assert len(store.runs()) == 2
    assert store.sql("SELECT count(*) AS n FROM params")["n"] == [2]


def test_the_summary_of_several_points_of_a_key_in_one_pass(isolated_store: Path) -> None:
    """Few points go line by line: their summary rows are computed in Python."""
    run = trackrun.start_run()
    store = Store(isolated_store)
    first = [math.nan, 3.0, -1.0, 7.5, math.nan, 2.0]
    for step, value in enumerate(first):
        trackrun.log(x=value, y=-value, step=step)
    run.flush()
    x = store.summary(run.run_id)["metrics"]["x"]
    assert (x["min"], x["max"], x["last"], x["count"], x["last_step"]) == (-1.0, 7.5, 2.0, 6, 5)
    y = store.summary(run.run_id)["metrics"]["y"]
    assert (y["min"], y["max"], y["last"]) == (-7.5, 1.0, -2.0)
    for step, value in enumerate([10.0, math.nan], start=6):
        trackrun.log(x=value, step=step)
    run.flush()
    x = store.summary(run.run_id)["metrics"]["x"]
    assert (x["min"], x["max"], x["count"], x["last_step"]) == (-1.0, 10.0, 8, 7)
    assert math.isnan(x["last"])
    trackrun.finish()
