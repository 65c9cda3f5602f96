"""The event writer when the file system fails: it holds, retries, warns once, never dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trackrun.event_writer import EventWriter
from trackrun.events import read_events

pytestmark = pytest.mark.chaos

FULL = Path("/dev/full")  # every write fails with ENOSPC, as on a full disk
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (Linux)")


@needs_dev_full
def test_disk_full_keeps_records_warns_once_and_keeps_the_flusher_alive(
    capfd: pytest.CaptureFixture[str],
) -> None:
    writer = EventWriter(FULL, flush_interval=0.05)
    for step in range(300):
        writer.log_metrics({"x": float(step)}, step)
    assert writer.flush() is False  # nothing reached the file, nothing raised
    assert writer.held_records == 300 and writer.dropped_records == 0
    writer.log_metrics({"x": 1.0}, 300)
    deadline = time.monotonic() + 30
    while writer.held_records < 301 and time.monotonic() < deadline:
        time.sleep(0.02)  # the background thread formats new records despite the failures
    assert writer.held_records == 301
    err = capfd.readouterr().err
    assert err.count("cannot write to the store (No space left on device)") == 1
    assert "300 records held in memory, will retry" in err
    assert writer.close(retry_for=0.2) is False  # still full: reported, not raised
    assert writer.abandon() == 301 and writer.dropped_records == 301


@needs_dev_full
def test_over_the_memory_bound_metrics_are_dropped_and_counted_status_kept(
    capfd: pytest.CaptureFixture[str],
) -> None:
    writer = EventWriter(FULL, flush_interval=1000, max_buffer_bytes=2000)
    for step in range(100):
        writer.log_metrics({"loss": 0.5}, step)
        writer.flush()
    writer.emit("status", status="finished")
    writer.flush()
    assert 0 < writer.dropped_records < 100
    held = writer.held_records
    assert held + writer.dropped_records == 101  # every record is held or counted
    assert b'"status": "finished"' in bytes(writer._unwritten)
    assert "new metric records are dropped and counted" in capfd.readouterr().err
    writer.abandon()


_RECOVERY_SCRIPT = r"""
import os, resource, signal, sys, time
import trackrun

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit, write() fails with EFBIG
run = trackrun.start_run(store=sys.argv[1])
for step in range(100):
    trackrun.log(x=float(step), step=step)
run.flush()
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
# The file system "fills up" 100 bytes further: the next writes fail part way.
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(run.paths.events) + 100, hard))
for step in range(100, 200):
    trackrun.log(x=float(step), step=step)
while run._writer.held_records == 0:
    time.sleep(0.01)
print("held", run._writer.held_records, flush=True)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
while run._writer.held_records:
    time.sleep(0.01)  # written by the background thread alone
for step in range(200, 300):
    trackrun.log(x=float(step), step=step)
print("logged", run.paths.events, flush=True)
if sys.argv[2] == "finish":
    run.finish()
else:
    time.sleep(600)
"""


def _start(store: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRACKRUN_FLUSH_INTERVAL": "0.1"}
    return subprocess.Popen(
        [sys.executable, "-c", _RECOVERY_SCRIPT, str(store), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _steps(events: Path) -> list[int]:
    return sorted(e["step"] for e in read_events(events, 0)[0] if e["type"] == "metrics")


@pytest.mark.slow
def test_after_a_failed_write_every_step_arrives_once_space_is_back(isolated_store: Path) -> None:
    proc = _start(isolated_store, "finish")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "cannot write to the store (File too large)" in err
    assert "will retry" in err and "again; held records written" in err
    events = Path(out.splitlines()[-1].split(" ", 1)[1])
    assert _steps(events) == list(range(300))
    records, _, bad = read_events(events, 0)
    assert bad == 0  # the line cut by the failure was completed, not torn
    final = [e for e in records if e["type"] == "status"][-1]
    assert final["status"] == "finished" and final["dropped_records"] == 0


@pytest.mark.slow
def test_sigkill_after_recovery_loses_at_most_the_last_flush(isolated_store: Path) -> None:
    proc = _start(isolated_store, "hang")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("held")
        events = Path(proc.stdout.readline().split(" ", 1)[1].strip())
        deadline = time.monotonic() + 60
        while _steps(events)[-1:] != [299] and time.monotonic() < deadline:
            time.sleep(0.05)  # the flusher, alive after the failure, writes within its interval
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert _steps(events) == list(range(300))


_FINISH_SCRIPT = r"""
import sys
from pathlib import Path
from trackrun.event_writer import EventWriter
from trackrun.layout import RunPaths
from trackrun.run import Run

folder = Path(sys.argv[1])
run = Run(RunPaths(folder), folder, "full", EventWriter(Path("/dev/full"), max_buffer_bytes=500))
for step in range(50):
    run.log({"loss": 0.5}, step)
    run.flush()
lost = run.finish()
print("lost", lost, run.dropped_records, flush=True)
run._writer.abandon()
"""


@needs_dev_full
@pytest.mark.slow
def test_finish_reports_what_could_not_be_written(tmp_path: Path) -> None:
    env = {**os.environ, "TRACKRUN_FINISH_RETRY_S": "0.2", "TRACKRUN_EXIT_RETRY_S": "0"}
    result = subprocess.run(
        [sys.executable, "-c", _FINISH_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _, lost, dropped = result.stdout.split()
    assert 0 < int(dropped) < int(lost) <= 51  # dropped ones, plus the held ones at the end
    assert f"ended with {int(lost):,} records not written" in result.stderr
    assert f"{int(dropped):,} dropped while the store was not writable" in result.stderr


_HEARTBEAT_SCRIPT = r"""
import json, os, resource, signal, sys, time
from pathlib import Path
from trackrun.event_writer import EventWriter

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the limit, write() fails with EFBIG
path = Path(sys.argv[1])
writer = EventWriter(path, flush_interval=0.05, heartbeat_interval=0.2)
writer.log_metrics({"x": 0.0}, 0)
writer.flush()
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size, hard))  # the disk is full
failed_at = time.time()
writer.log_metrics({"x": 1.0}, 1)
time.sleep(2.0)
print(json.dumps({"held": writer.held_records, "failed_at": failed_at, "back_at": time.time()}))
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
writer.close(retry_for=10)
"""


@pytest.mark.slow
def test_heartbeats_go_on_while_records_are_held_and_arrive_in_order(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", _HEARTBEAT_SCRIPT, str(events)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outage = json.loads(result.stdout)
    assert outage["held"] >= 4  # the metric and the heartbeats queued behind it
    records, _, bad = read_events(events, 0)
    assert bad == 0
    assert [e["seq"] for e in records] == list(range(1, len(records) + 1))
    beats = [
        e["time"]
        for e in records
        if e["type"] == "heartbeat" and outage["failed_at"] < e["time"] < outage["back_at"]
    ]
    assert len(beats) >= 4, records  # about one per 0.2 s over the 2 s outage
    metric = next(i for i, e in enumerate(records) if e["type"] == "metrics" and e["step"] == 1)
    assert all(records[metric]["time"] <= t for t in beats)  # held in the order they came


_FULL_DISK_SCRIPT = r"""
import sys, time
from pathlib import Path
import trackrun

disk = Path(sys.argv[1])
run = trackrun.start_run(store=disk / "store")  # a script: its output goes to output.log
for step in range(100):
    trackrun.log(x=float(step), step=step)
run.flush()
# Fill the disk to the last byte: output.log, still empty, cannot take a single one.
filler = disk / "filler"
with open(filler, "wb", buffering=0) as f:
    for size in (65536, 4096, 1):
        try:
            while True:
                f.write(b"\0" * size)
        except OSError:
            pass
for step in range(100, 300):
    trackrun.log(x=float(step), step=step)
while run._writer.held_records == 0:
    time.sleep(0.01)
time.sleep(0.3)
filler.unlink()  # space is back
while run._writer.held_records:
    time.sleep(0.01)
run.finish()
print(run.paths.output_log)
"""


@pytest.mark.slow
def test_the_disk_full_warning_reaches_output_log_once_space_is_back(tiny_disk: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(tiny_disk)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRACKRUN_FLUSH_INTERVAL": "0.1"},
    )
    assert result.returncode == 0, result.stderr
    warning = "trackrun: cannot write to the store (No space left on device)"
    assert warning in result.stderr  # the console at once...
    log = Path(result.stdout.splitlines()[-1]).read_text()
    assert warning in log  # ...and output.log, held until the disk took it
    assert log.index(warning) < log.index("held records written")
