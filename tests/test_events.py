"""The buffered event writer and the offset reader."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from trackrun.event_writer import EventWriter
from trackrun.events import append_event, read_events


def test_flusher_writes_within_interval_without_explicit_flush(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path, flush_interval=0.1)
    writer.log_metrics({"loss": 0.5}, step=1)
    deadline = time.time() + 2
    while time.time() < deadline and not path.read_bytes():
        time.sleep(0.02)
    events, _, _ = read_events(path, 0)
    assert [e["values"] for e in events if e["type"] == "metrics"] == [{"loss": 0.5}]
    writer.close()


def test_nan_and_infinities_are_valid_json_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.log_metrics({"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1.5}, step=0)
    writer.close()
    line = path.read_text().splitlines()[0]
    parsed = json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    values = parsed["values"]
    assert values["a"] == "NaN" and values["b"] == "Infinity" and values["c"] == "-Infinity"
    assert values["d"] == 1.5


def test_per_key_step_counters(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    writer.log_metrics({"loss": 1.0}, None)
    writer.log_metrics({"loss": 2.0, "acc": 0.1}, None)
    writer.log_metrics({"acc": 0.2}, 10)
    writer.log_metrics({"acc": 0.3}, None)
    writer.close()
    events, _, _ = read_events(path, 0)
    points = sorted(
        (k, e["step"], v) for e in events if e["type"] == "metrics" for k, v in e["values"].items()
    )
    assert points == [
        ("acc", 0, 0.1),
        ("acc", 10, 0.2),
        ("acc", 11, 0.3),
        ("loss", 0, 1.0),
        ("loss", 1, 2.0),
    ]


def test_reader_leaves_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"seq": 1, "type": "heartbeat", "time": 1}\n{"seq": 2, "ty')
    events, offset, bad = read_events(path, 0)
    assert [e["seq"] for e in events] == [1]
    assert offset == path.read_bytes().index(b"\n") + 1
    assert bad == 0
    with open(path, "ab") as f:
        f.write(b'pe": "heartbeat", "time": 2}\n')
    events, offset2, _ = read_events(path, offset)
    assert [e["seq"] for e in events] == [2]
    assert offset2 == path.stat().st_size


def test_new_writer_continues_sequence_and_terminates_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first = EventWriter(path)
    first.emit("status", status="running")
    first.close()
    with open(path, "ab") as f:
        f.write(b'{"seq": 99, "type": "metr')  # a writer killed mid-line
    second = EventWriter(path)
    second.emit("status", status="finished")
    second.close()
    events, _, bad = read_events(path, 0)
    assert bad == 1
    assert [e["seq"] for e in events] == [1, 2]
    assert events[-1]["status"] == "finished"


def test_append_event_continues_sequence(tmp_path: Path) -> None:
    path = tmp_path / "events.observer.jsonl"
    append_event(path, "status", status="lost")
    append_event(path, "tags", add=["x"])
    events, _, _ = read_events(path, 0)
    assert [(e["seq"], e["type"]) for e in events] == [(1, "status"), (2, "tags")]


def test_metric_lines_are_exactly_what_json_dumps_writes(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    odd_keys = {'quote"d': 1, "back\\slash": 2.5, "new\nline": -0.0, "ünï/cødé": np.float32(0.1)}
    writer.log_metrics({**odd_keys, "nan": math.nan, "inf": -math.inf, "big": 1e300}, step=7)
    writer.log_metrics({"loss": 0.30000000000000004}, None)
    writer.emit("params", values={"lr": 1e-3, "name": "x"})
    writer.close()
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert line == json.dumps(record, ensure_ascii=False, allow_nan=False)
    metrics = [e for e in read_events(path, 0)[0] if e["type"] == "metrics"]
    assert metrics[0]["step"] == 7 and metrics[1]["step"] == 0
    values = metrics[0]["values"]
    assert values['quote"d'] == 1.0 and values["new\nline"] == 0.0
    assert values["ünï/cødé"] == float(np.float32(0.1))
    assert values["nan"] == "NaN" and values["inf"] == "-Infinity" and values["big"] == 1e300
    assert metrics[1]["values"] == {"loss": 0.30000000000000004}


def test_reader_counts_bad_lines_like_a_line_by_line_reader(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = [json.dumps({"seq": i, "type": "heartbeat", "time": i}) for i in (1, 2, 3)]
    lines = [good[0], '{"seq": 9, "type": "metr', "", "[1, 2]", "1, 2", '"text"', good[1]]
    path.write_text("\n".join([*lines, good[2]]) + "\n")
    events, offset, bad = read_events(path, 0)
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert bad == 4  # the torn line, the list, "1, 2" and the string; empty lines are skipped
    assert offset == path.stat().st_size
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(good) + "\n")
    assert [e["seq"] for e in read_events(clean, 0)[0]] == [1, 2, 3]


def test_deferred_tensors_are_converted_in_bulk_with_exact_values(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    for i in range(50):
        # What Run.log defers for device tensors: 0-d tensors of mixed dtypes.
        writer.log_metrics(
            {"loss": torch.tensor(i * 0.25), "count": torch.tensor(i), "plain": 1.5}, step=i
        )
    writer.close()
    events, _, _ = read_events(path, 0)
    values = [e["values"] for e in events if e["type"] == "metrics"]
    assert values == [{"loss": i * 0.25, "count": float(i), "plain": 1.5} for i in range(50)]


def test_second_writer_continues_after_a_megabyte_last_line(tmp_path: Path) -> None:
    # One log() of 32k keys is a ~1 MB line; a retried attempt's writer used to read only the
    # last 64 KiB, restart at seq 1, and have every record it wrote skipped by ingestion.
    path = tmp_path / "events.jsonl"
    first = EventWriter(path)
    first.emit("status", status="running")
    first.log_metrics({f"layer_{i:05d}/grad_norm": i + 0.5 for i in range(32_000)}, step=0)
    first.close()
    last_line = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    assert len(last_line) > 2**20 and json.loads(last_line)["seq"] == 2
    second = EventWriter(path)
    second.log_metrics({"x": 1.0}, step=1)
    second.emit("status", status="finished")
    second.close()
    events, _, bad = read_events(path, 0)
    assert bad == 0
    assert [e["seq"] for e in events] == [1, 2, 3, 4]


def test_last_sequence_found_behind_torn_and_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    long_junk = b"x" * (3 * 65536 + 17)
    path.write_bytes(
        b'{"seq": 41, "type": "heartbeat", "time": 1}\n'
        + b'{"seq": 42, "type": "tags", "time": 1, "add": ["'
        + b"t" * 200_000
        + b'"]}\n'
        + long_junk  # a torn last line longer than several scan chunks
    )
    writer = EventWriter(path)
    writer.emit("status", status="finished")
    writer.close()
    events, _, bad = read_events(path, 0)
    assert [e["seq"] for e in events] == [41, 42, 43] and bad == 1


def test_each_flush_of_a_run_folder_grows_the_store_change_log(tmp_path: Path) -> None:
    from trackrun.layout import StorePaths

    store = StorePaths(tmp_path / "store").ensure()
    folder = store.run("20261130-000000-abcdef").root
    folder.mkdir()
    writer = EventWriter(folder / "events.jsonl", flush_interval=1000)
    assert not store.change_log.exists()
    for step in range(1000):  # many records, one flush: one byte
        writer.log_metrics({"x": 1.0}, step)
    writer.flush()
    assert store.change_log.stat().st_size == 1
    assert writer.flush()  # nothing new: no byte
    assert store.change_log.stat().st_size == 1
    append_event(folder / "events.observer.jsonl", "status", status="lost")
    writer.close()
    assert store.change_log.stat().st_size == 2
    assert store.change_log.stat().st_mode & 0o777 == 0o600
    # An event file outside a store has no change log to touch.
    outside = EventWriter(tmp_path / "events.jsonl")
    outside.emit("status", status="running")
    outside.close()
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["changes.log", "runs"]
