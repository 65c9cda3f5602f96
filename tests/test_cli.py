"""The trackrun command, run as a real subprocess against a real store."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import trackrun


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"trackrun {' '.join(args)} failed:\n{result.stderr}")
    return result


@pytest.fixture
def two_runs() -> list[str]:
    ids = []
    for lr, status in ((0.01, "finished"), (0.001, "failed")):
        run = trackrun.start_run(name=f"lr-{lr}", params={"lr": lr}, tags=["sweep"])
        for step in range(10):
            trackrun.log(loss=lr * step, step=step)
        run.paths.output_log.write_text(f"epoch done lr={lr}\n")
        run.finish(status)
        ids.append(run.run_id)
    return ids


def test_ls_table_json_and_filter(two_runs: list[str]) -> None:
    out = cli("ls").stdout
    assert "lr-0.01" in out and "lr-0.001" in out and "finished" in out
    rows = json.loads(cli("ls", "--json").stdout)
    assert {r["run_id"] for r in rows} == set(two_runs)
    filtered = json.loads(cli("ls", "--json", "--filter", "params.lr < 0.005").stdout)
    assert [r["name"] for r in filtered] == ["lr-0.001"]


def test_show_metrics_and_logs_accept_prefixes(two_runs: list[str]) -> None:
    first = two_runs[0]
    out = cli("show", first[:19]).stdout
    assert first in out and "lr = 0.01" in out and "loss" in out
    metrics = json.loads(cli("metrics", first, "--key", "loss", "--json").stdout)
    assert [m["step"] for m in metrics] == list(range(10))
    assert cli("logs", "lr-0.01").stdout == "epoch done lr=0.01\n"


def test_user_errors_are_one_line_without_traceback(two_runs: list[str]) -> None:
    for args in (("show", "nope"), ("show", "2026"), ("ls", "--filter", "params.lr <<< 1")):
        result = cli(*args, check=False)
        assert result.returncode == 1, args
        assert result.stderr.startswith("trackrun: error:"), result.stderr
        assert "Traceback" not in result.stderr


def test_rm_refuses_running_runs_unless_forced() -> None:
    running = trackrun.start_run(name="busy")
    running.flush()
    result = cli("rm", running.run_id, check=False)
    assert result.returncode == 1 and "still running" in result.stderr
    assert running.dir.exists()
    cli("rm", running.run_id, "--force")
    assert not running.dir.exists()
    assert json.loads(cli("ls", "--json").stdout) == []
    running.finish()


def test_gc_dry_run_then_trash_then_purge(two_runs: list[str], isolated_store: Path) -> None:
    dry = cli("gc", "--dry-run").stdout
    assert "would move 1 run" in dry and two_runs[1] in dry
    assert (isolated_store / "runs" / two_runs[1]).exists()
    cli("gc")
    assert (isolated_store / "trash" / two_runs[1]).exists()
    assert [r["run_id"] for r in json.loads(cli("ls", "--json").stdout)] == [two_runs[0]]
    assert "older" not in cli("gc", "--older-than", "7d").stdout
    cli("gc", "--purge")
    assert not (isolated_store / "trash" / two_runs[1]).exists()


def test_export_csv_and_parquet(two_runs: list[str], tmp_path: Path) -> None:
    cli("export", str(tmp_path / "runs.csv"))
    with open(tmp_path / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["run_id"] for r in rows} == set(two_runs)
    cli("export", str(tmp_path / "m.parquet"), "--metrics")
    count = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'm.parquet'}'").fetchall()[0][0]
    assert count == 20


def test_reindex_after_index_deleted(two_runs: list[str], isolated_store: Path) -> None:
    cli("ls")
    os.unlink(isolated_store / "index.duckdb")
    assert "reindexed 2 run(s)" in cli("reindex").stdout


def test_show_tells_dropped_records_exit_code_and_a_stalled_main_thread() -> None:
    from trackrun.events import append_event

    with trackrun.start_run(name="hurt") as run:
        trackrun.log(loss=1.0, step=0)
    append_event(
        run.paths.events_of("observer"),
        "status",
        status="failed",
        dropped_records=1234,
        exit_code=3,
    )
    healthy = trackrun.start_run(name="stuck")
    append_event(healthy.paths.events_of("observer"), "heartbeat", stalled_for=720.0)
    try:
        out = cli("show", run.run_id).stdout
        assert "dropped   1,234 records" in out and "exit code 3" in out
        out = cli("show", healthy.run_id).stdout
        assert "stalled   the main thread made no progress for 12m" in out
        assert "dropped" not in out
    finally:
        healthy.finish()
