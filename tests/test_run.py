"""One run's lifecycle (trackrun.run): values refused at log(), how a run ends, stall reports."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackrun
from trackrun.events import read_events
from trackrun.run import Run
from trackrun.values import PrecisionWarning


def _events(run: Run, kind: str) -> list[dict[str, Any]]:
    return [e for e in read_events(run.paths.events, 0)[0] if e["type"] == kind]


def _points(run: Run) -> dict[tuple[str, int], Any]:
    return {
        (key, e["step"]): value
        for e in _events(run, "metrics")
        for key, value in e["values"].items()
    }


# -- values refused at the call (issue 15 #1) ---------------------------------------------------
@pytest.mark.parametrize("step", [2**63, 2**64, -1, np.int64(-5), np.uint64(2**63)])
def test_out_of_range_steps_are_refused_at_the_call(step: Any, isolated_store: Path) -> None:
    with trackrun.start_run() as run:
        with pytest.raises(ValueError, match=r"step .* out of range.*2\*\*63"):
            trackrun.log(x=1, step=step)
        trackrun.log(x=2, step=2**63 - 1)  # the largest step is fine
    assert _points(run) == {("x", 2**63 - 1): 2}
    # The store still answers: one bad step used to break every query.
    assert trackrun.runs()[0]["status"] == "finished"


@pytest.mark.parametrize("step", [1.0, True, "3", np.float64(2)])
def test_non_integer_steps_are_refused(step: Any) -> None:
    with trackrun.start_run(), pytest.raises(TypeError, match="step must be an int"):
        trackrun.log(x=1, step=step)


def test_a_number_too_large_for_a_double_is_refused_and_logging_goes_on() -> None:
    with trackrun.start_run() as run:
        trackrun.log(x=0.0, step=0)
        with pytest.raises(ValueError, match=r"metric 'bad' .* too large"):
            trackrun.log(bad=10**400, step=1)
        with pytest.raises(ValueError, match=r"metric 'worse' .* too large"):
            trackrun.log(worse=10**309)
        for step in range(100, 200):
            trackrun.log(x=float(step), step=step)
    points = _points(run)
    assert sorted(s for k, s in points if k == "x") == [0, *range(100, 200)]
    assert not any(k in ("bad", "worse") for k, _ in points)
    assert trackrun.runs()[0]["status"] == "finished"


def test_nan_and_infinities_are_kept() -> None:
    with trackrun.start_run() as run:
        trackrun.log(a=math.nan, b=math.inf, c=-math.inf, d=np.float32("nan"), step=0)
    values = _events(run, "metrics")[0]["values"]
    assert values == {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": "NaN"}


@pytest.mark.parametrize("key", ["", "a\x00b", "\x00"])
def test_empty_and_nul_metric_names_are_refused(key: str) -> None:
    with trackrun.start_run() as run:
        with pytest.raises(ValueError, match="empty or contains a NUL"):
            trackrun.log({key: 1.0, "ok": 2.0}, step=0)
        trackrun.log(ok=3.0, step=1)
    assert _points(run) == {("ok", 1): 3.0}  # nothing of the refused call was logged


def test_non_string_metric_names_are_refused() -> None:
    with trackrun.start_run(), pytest.raises(TypeError, match="metric names must be strings"):
        trackrun.log({1: 1.0}, step=0)  # type: ignore[dict-item]


def test_integers_beyond_2_53_warn_once_per_name_and_are_kept() -> None:
    with trackrun.start_run() as run:
        with pytest.warns(PrecisionWarning, match=r"'count' .* above 2\*\*53"):
            trackrun.log(count=2**53 + 1, step=0)
        with pytest.warns(PrecisionWarning, match="'other'"):  # another name warns again
            trackrun.log(other=-(2**60), step=0)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second value of the same name is silent
            trackrun.log(count=2**54, step=1)
            trackrun.log(count=2**53, step=2)  # exactly representable: never warns
    points = _points(run)
    assert points[("count", 0)] == float(2**53 + 1) and points[("other", 0)] == -(2.0**60)


# -- how a run ends --------------------------------------------------------------------------
def test_system_exit_records_its_exit_code() -> None:
    with pytest.raises(SystemExit), trackrun.start_run() as run:
        raise SystemExit(3)
    status = _events(run, "status")[-1]
    assert status["status"] == "failed" and status["exit_code"] == 3
    assert status["error"] == "SystemExit(3)"


def test_system_exit_zero_is_a_finished_run() -> None:
    with pytest.raises(SystemExit), trackrun.start_run() as run:
        sys.exit(0)
    status = _events(run, "status")[-1]
    assert status["status"] == "finished" and status["exit_code"] == 0


def test_final_status_records_dropped_records() -> None:
    with trackrun.start_run() as run:
        trackrun.log(x=1.0)
    status = _events(run, "status")[-1]
    assert status["status"] == "finished" and status["dropped_records"] == 0
    assert run.dropped_records == 0


# -- stalled main thread (a flag in heartbeats, never a kill) -----------------------------------
_STALL_SCRIPT = """
import sys, time, trackrun
run = trackrun.start_run(store=sys.argv[1])
trackrun.log(x=1.0, step=0)
print(run.paths.events, flush=True)
if sys.argv[2] == "printing":  # a worker thread prints lines: output is activity
    import threading
    def chatter():
        while True:
            print("batch done", flush=True)
            time.sleep(0.2)
    threading.Thread(target=chatter, daemon=True).start()
if sys.argv[2] in ("hang", "printing"):
    time.sleep(600)  # one C call that never returns to Python
else:
    def work(n):
        return sum(i * i for i in range(n))
    while True:
        work(1000)
"""


def _heartbeats_until(events: Path, enough: Any, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    beats: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        beats = [e for e in read_events(events, 0)[0] if e["type"] == "heartbeat"]
        if enough(beats):
            return beats
        time.sleep(0.1)
    raise AssertionError(f"no such heartbeats within {timeout} s: {beats}")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hang", "busy", "printing"])
def test_a_hung_main_thread_is_reported_stalled_and_left_alone(
    mode: str, isolated_store: Path
) -> None:
    env = {
        **os.environ,
        "TRACKRUN_STALL_AFTER": "2",
        "TRACKRUN_HEARTBEAT_INTERVAL": "0.2",
        "TRACKRUN_FLUSH_INTERVAL": "0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALL_SCRIPT, str(isolated_store), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        events = Path(proc.stdout.readline().strip())
        if mode == "hang":
            beats = _heartbeats_until(events, lambda b: any(h["stalled_for"] >= 2 for h in b))
            assert proc.poll() is None  # flagged, never killed
        else:  # busy, or hung while output lines keep coming (the flag counts both)
            beats = _heartbeats_until(events, lambda b: len(b) >= 15)
            assert all(h["stalled_for"] == 0 for h in beats), beats
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_run_json_is_written_with_params_and_reopened(isolated_store: Path) -> None:
    run = Run.start(isolated_store, name="n", params={"lr": 0.1}, provenance={})
    record = json.loads(run.paths.run_json.read_text())
    assert record["params"] == {"lr": 0.1} and record["name"] == "n"
    again = Run.attach(run.dir)
    again.log({"x": 1.0}, step=0)
    again.release()
    run.finish()
    assert _points(run) == {("x", 0): 1.0}


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"name": "two\nlines"}, ValueError, "control character"),
        ({"name": "x" * 201}, ValueError, "at most 200"),
        ({"note": "nul\x00inside"}, ValueError, "control character"),
        ({"params": {"f": print}}, TypeError, "parameter 'f'"),
        ({"tags": [object()]}, TypeError, "tags must be"),
    ],
)
def test_bad_start_input_is_refused_before_any_run_folder_exists(
    tmp_path: Path, options: dict[str, Any], error: type[Exception], says: str
) -> None:
    store = tmp_path / "store"
    with pytest.raises(error, match=says):
        Run.start(store, provenance={}, **options)
    runs = store / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    assert len(trackrun.runs(store=str(store))) == 0


def test_a_name_and_note_at_start_are_stored_cleaned(tmp_path: Path) -> None:
    run = Run.start(tmp_path / "s", name="  baseline  ", note="first\r\nsecond\n", provenance={})
    run.finish()
    record = json.loads(run.paths.run_json.read_text())
    assert (record["name"], record["note"]) == ("baseline", "first\nsecond")
    (row,) = trackrun.runs(store=str(tmp_path / "s")).to_dicts()
    assert row["name"] == "baseline"
