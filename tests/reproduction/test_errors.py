"""Bad input gets a clear error and writes nothing: unknown runs, runs without recorded
code or history, output folders that are not empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import RunNotFoundError, TrackrunError
from trackrun.run import Run

from .helpers import api_events, child_env, cli, runs_in

SCRIPT = (
    "import trackrun\n"
    "with trackrun.start_run(name='tiny', params={'k': 2}):\n"
    "    for i in range(3):\n"
    "        trackrun.log(v=i * 2, step=i)\n"
)


def script_run(tmp_path: Path, store: Path) -> str:
    (tmp_path / "tiny.py").write_text(SCRIPT)
    env = {**os.environ, **child_env()}
    subprocess.run([sys.executable, "tiny.py"], cwd=tmp_path, env=env, check=True, timeout=120)
    (run,) = runs_in(store)
    return str(run["run_id"])


def test_unknown_run_is_refused_and_nothing_written(tmp_path: Path, isolated_store: Path) -> None:
    trackrun.start_run(name="something").finish()
    out = tmp_path / "out"
    result = cli("--store", str(isolated_store), "reproduce", "no-such-run", "-o", str(out))
    assert result.returncode == 1
    assert "no-such-run" in result.stderr and "error" in result.stderr
    assert not out.exists()
    with pytest.raises(RunNotFoundError):
        trackrun.reproduce("no-such-run", out)
    assert not out.exists()


def test_run_without_history_is_refused(tmp_path: Path, isolated_store: Path) -> None:
    run = Run.start(isolated_store, name="no-history", launch={"kind": "inline"})
    run.paths.code.mkdir()
    (run.paths.code / "cell.py").write_text("x = 1\n")
    run.finish()
    out = tmp_path / "out"
    with pytest.raises(TrackrunError, match=r"no recorded history .*code/history.py is missing"):
        trackrun.reproduce(run.run_id, out)
    assert not out.exists()


def test_run_without_code_names_what_is_missing(tmp_path: Path, isolated_store: Path) -> None:
    env = {**os.environ, **child_env()}
    code = "import trackrun\nwith trackrun.start_run(name='inline-c'):\n    trackrun.log(v=1)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    (run,) = runs_in(isolated_store)
    assert run["launch"] == {"kind": "script", "script": None, "argv": ["-c"]}
    out = tmp_path / "out"
    result = cli("--store", str(isolated_store), "reproduce", run["run_id"], "-o", str(out))
    assert result.returncode == 1
    assert "its source was not recorded" in result.stderr and "python -c" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_non_empty_output_folder_needs_force(tmp_path: Path, isolated_store: Path) -> None:
    run_id = script_run(tmp_path, isolated_store)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = cli("--store", str(isolated_store), "reproduce", run_id, "-o", str(out))
    assert result.returncode == 1 and "is not empty" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    result = cli("--store", str(isolated_store), "reproduce", run_id, "-o", str(out), "--force")
    assert result.returncode == 0, result.stderr
    names = {p.name for p in out.iterdir()}
    assert {"notes.txt", "reproduce.py", "requirements.txt", "README.md", "inputs.md"} <= names
    assert (out / "notes.txt").read_text() == "mine"


def test_the_function_is_not_shadowed_by_the_package() -> None:
    import trackrun.reproduction  # binds a name on the trackrun package

    assert trackrun.reproduce is trackrun.api.reproduce
    assert callable(trackrun.reproduce)


@pytest.mark.slow
def test_a_script_that_fails_before_its_run_starts_is_different(
    tmp_path: Path, isolated_store: Path
) -> None:
    (tmp_path / "data.txt").write_text("3\n")
    (tmp_path / "train.py").write_text(
        "import trackrun\n"
        "k = int(open('data.txt').read())\n"
        "with trackrun.start_run(name='reads-data'):\n"
        "    trackrun.log(v=k * 2, step=0)\n"
    )
    env = {**os.environ, **child_env()}
    subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, check=True, timeout=120)
    (run,) = runs_in(isolated_store)
    (tmp_path / "data.txt").unlink()  # the reproduction dies before start_run
    out = tmp_path / "out"
    result = cli(
        "--store", str(isolated_store), "reproduce", run["run_id"], "-o", str(out), "--run"
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "verdict: different" in result.stdout
    (recorded,) = [
        e for e in api_events(isolated_store, run["run_id"]) if e["type"] == "reproduction"
    ]
    assert recorded["verdict"] == "different" and recorded["reproduction"] is None
    (reason,) = recorded["reasons"]
    assert reason.startswith("the script failed before its run started (exit status 1): ")
    assert "FileNotFoundError" in reason and "data.txt" in reason
    tags = [e for e in api_events(isolated_store, run["run_id"]) if e["type"] == "tags"]
    assert tags[-1]["add"] == ["reproduced:different"]
    assert len(runs_in(isolated_store)) == 1  # no run was started
