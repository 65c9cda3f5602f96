"""Bad lines written into a run's events.jsonl by anything else never stop the index."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackrun
from trackrun.store import Store

pytestmark = pytest.mark.chaos  # it injects broken lines into event files


def _run_with_points() -> str:
    with trackrun.start_run(name="victim") as run:
        for step in range(5):
            trackrun.log(x=float(step), step=step)
    return run.run_id


def _append(events: Path, lines: list[str]) -> None:
    with open(events, "a") as f:
        for line in lines:
            f.write(line + "\n")


def _bad_lines(first_seq: int) -> list[str]:
    now = time.time()

    def metric(seq: int, step: object, value: object) -> str:
        return json.dumps(
            {"seq": seq, "type": "metrics", "time": now, "step": step, "values": {"x": value}}
        )

    return [
        metric(first_seq, 2**63, 1.0),  # a step beyond BIGINT
        metric(first_seq + 1, -5, 1.0),  # a negative step
        metric(first_seq + 2, 7, "abc"),  # a value that is not a number
        '{"seq": broken',  # broken JSON
        metric(first_seq + 3, 8, 10**400),  # an int no double holds
        metric(first_seq + 4, 2**64, 10**30),
        json.dumps({"seq": 2**70, "type": "metrics", "step": 1, "values": {"x": 1}}),
        json.dumps({"seq": first_seq + 5, "type": "metrics", "step": 9, "values": {"\ud800": 1}}),
        json.dumps({"seq": first_seq + 6, "type": "params", "values": {"big": 10**400}}),
        json.dumps({"seq": first_seq + 7, "type": "attempt", "attempt": 2**70}),
        metric(first_seq + 8, 10, 2.5),  # a good line after the bad ones
    ]


def test_bad_lines_are_quarantined_and_the_store_keeps_working(
    isolated_store: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run_id = _run_with_points()
    events = isolated_store / "runs" / run_id / "events.jsonl"
    seq = len(events.read_text().splitlines())
    _append(events, _bad_lines(seq + 1))

    store = Store(isolated_store)
    table = store.runs()
    assert table["run_id"] == [run_id] and table["status"] == ["finished"]
    assert table["metrics.x"] == [2.5]
    history = store.metrics(run_id, ["x"])
    assert history["step"] == [0, 1, 2, 3, 4, 10]
    kept = store.sql("SELECT reason, line FROM quarantine ORDER BY coalesce(seq, -1)")
    assert len(kept) == 8
    assert any("broken" in line for line in kept["line"])
    assert any("2**63" in reason for reason in kept["reason"])
    # A param no double holds and an attempt number beyond BIGINT are kept, as far as they fit.
    assert store.summary(run_id)["params"]["big"] == 10**400
    err = capfd.readouterr().err
    assert err.count("could not be indexed and were quarantined") == 1
    # Quarantined once: a second process warns no more, and reindex rebuilds the same.
    Store(isolated_store).runs()
    assert "quarantined" not in capfd.readouterr().err
    assert store.reindex() == 1
    assert store.sql("SELECT count(*) AS n FROM quarantine")["n"] == [8]
    assert store.metrics(run_id, ["x"])["step"] == [0, 1, 2, 3, 4, 10]
    # The events file itself is untouched: nothing is lost.
    assert '{"seq": broken' in events.read_text()


def test_cli_and_api_survive_a_step_beyond_bigint(isolated_store: Path) -> None:
    run_id = _run_with_points()
    events = isolated_store / "runs" / run_id / "events.jsonl"
    seq = len(events.read_text().splitlines())
    _append(events, _bad_lines(seq + 1)[:1])
    env = {"TRACKRUN_HOME": str(isolated_store)}
    for command in (["ls"], ["reindex"], ["ls"]):
        done = subprocess.run(
            [sys.executable, "-m", "trackrun.cli", *command],
            capture_output=True,
            text=True,
            env={**__import__("os").environ, **env},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert run_id in done.stdout
    assert trackrun.runs()["run_id"] == [run_id]


def test_a_bad_run_does_not_block_the_others(isolated_store: Path) -> None:
    good = _run_with_points()
    bad = _run_with_points()
    events = isolated_store / "runs" / bad / "events.jsonl"
    seq = len(events.read_text().splitlines())
    # A run name DuckDB cannot store (a lone surrogate) in a rename event.
    _append(events, [json.dumps({"seq": seq + 1, "type": "rename", "name": "\ud800"})])
    store = Store(isolated_store)
    assert sorted(store.runs()["run_id"]) == sorted([good, bad])
    assert store.metrics(good, ["x"])["step"] == [0, 1, 2, 3, 4]
    assert store.metrics(bad, ["x"])["step"] == [0, 1, 2, 3, 4]
    assert store.sql("SELECT run_id FROM quarantine")["run_id"] == [bad]
