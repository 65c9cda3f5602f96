"""Large chunks of events (read by DuckDB's JSON reader) give exactly the rows of small ones."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import trackrun
from trackrun.store import Store
from trackrun.store.fastread import MIN_BYTES

from .events_on_disk import append_events, metric_events, points_of


def _run() -> tuple[str, Path]:
    run = trackrun.start_run(name="big", params={"lr": 0.1})
    run.finish()
    return run.run_id, run.paths.events


def test_a_large_chunk_with_other_events_in_it(isolated_store: Path) -> None:
    run_id, events = _run()
    records = metric_events(range(5000))
    records.insert(100, {"type": "params", "values": {"opt": "adam", "layers": [1, 2]}})
    records.insert(2000, {"type": "tags", "add": ["big"], "remove": []})
    records.append({"type": "status", "status": "finished"})
    append_events(events, records)
    assert events.stat().st_size > MIN_BYTES
    store = Store(isolated_store)
    assert points_of(store, run_id, "acc") == [(s, float(s + 1)) for s in range(5000)]
    summary = store.summary(run_id)
    assert summary["params"]["opt"] == "adam" and summary["params"]["layers"] == [1, 2]
    assert "big" in summary["tags"]
    loss = store.runs()["metrics.loss"]
    assert loss == [4999.0]
    assert store.sql("SELECT count(*) AS n FROM metrics")["n"] == [4 * 5000]


def test_a_large_chunk_of_non_finite_values(isolated_store: Path) -> None:
    run_id, events = _run()
    records = metric_events(range(4000))
    records[10]["values"]["loss"] = "NaN"
    records[11]["values"]["loss"] = "Infinity"
    records[12]["values"]["loss"] = "-Infinity"
    append_events(events, records)
    history = dict(points_of(Store(isolated_store), run_id, "loss"))
    assert math.isnan(history[10]) and history[11] == math.inf and history[12] == -math.inf
    assert history[13] == 13.0 and len(history) == 4000


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "metrics", "step": 7, "values": {"loss": True}},
        {"type": "metrics", "step": 7, "values": {"loss": None}},
        {"type": "metrics", "step": 7.5, "values": {"loss": 1.0}},
        {"type": "metrics", "step": "7", "values": {"loss": 1.0}},
        {"type": "metrics", "step": -7, "values": {"loss": 1.0}},
        {"type": "metrics", "step": 7, "values": {"loss": 10**400}},
        {"type": "metrics", "step": 7, "values": {"loss": "high"}},
    ],
)
def test_a_bad_line_in_a_large_chunk_is_quarantined_like_in_a_small_one(
    isolated_store: Path, bad: dict[str, Any]
) -> None:
    run_id, events = _run()
    records = metric_events(range(4000))
    records.insert(500, bad)
    append_events(events, records)
    store = Store(isolated_store)
    assert store.sql("SELECT count(*) AS n FROM quarantine")["n"] == [1]
    assert points_of(store, run_id, "acc") == [(s, float(s + 1)) for s in range(4000)]


def test_a_resumed_attempt_relogging_steps_in_a_large_chunk(isolated_store: Path) -> None:
    run_id, events = _run()
    append_events(events, metric_events(range(3000)))
    store = Store(isolated_store)
    assert len(points_of(store, run_id, "loss")) == 3000
    # The second attempt starts again at step 2000 and logs up to 5999, with new values.
    append_events(events, metric_events(range(2000, 6000), scale=-1.0))
    history = points_of(store, run_id, "loss")
    assert [s for s, _ in history] == list(range(6000))
    assert history[1999] == (1999, 1999.0) and history[2000] == (2000, -2000.0)
    summary = store.summary(run_id)["metrics"]["loss"]
    assert summary["last"] == -5999.0 and summary["count"] == 6000
    # Rebuilding from the files gives the same.
    store.reindex()
    assert points_of(store, run_id, "loss") == history


def test_keys_logged_in_separate_events_at_the_same_step(isolated_store: Path) -> None:
    run_id, events = _run()
    records: list[dict[str, Any]] = []
    for s in range(3000):
        records.append({"type": "metrics", "step": s, "values": {"loss": float(s)}})
        records.append({"type": "metrics", "step": s, "values": {"acc": float(-s)}})
    append_events(events, records)
    store = Store(isolated_store)
    assert points_of(store, run_id, "acc") == [(s, float(-s)) for s in range(3000)]
    assert store.summary(run_id)["metrics"]["loss"]["count"] == 3000
    # And a small append afterwards folds into the summary.
    append_events(events, [{"type": "metrics", "step": 3000, "values": {"loss": -1.0}}])
    assert store.summary(run_id)["metrics"]["loss"]["last"] == -1.0
    assert store.summary(run_id)["metrics"]["loss"]["count"] == 3001
