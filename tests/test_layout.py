"""Where things live (trackrun.layout): paths, private or group-shared modes, atomic JSON files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import InvalidRunIdError
from trackrun.layout import (
    OutputLog,
    RunPaths,
    StorePaths,
    change_log_of_event_file,
    default_store_root,
    find_git_root,
    write_json_atomic,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run_with_every_file(tmp_path: Path) -> trackrun.Run:
    source = tmp_path / "model.txt"
    source.write_text("weights")
    with trackrun.start_run(params={"lr": 0.1}) as run:
        trackrun.log(loss=0.5)
        trackrun.artifact(source)
        trackrun.checkpoint({"w": 1}, step=1)
    trackrun.runs()  # the index and its lock as well
    return run


def test_a_new_store_is_private_to_the_user(isolated_store: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which leaves new files world-readable
    try:
        run = _run_with_every_file(tmp_path)
    finally:
        os.umask(old)
    assert _mode(isolated_store) == 0o700
    assert _mode(isolated_store / "runs") == 0o700
    for path in [run.dir, *run.dir.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, path
    assert _mode(isolated_store / "changes.log") == 0o600


def test_a_group_shared_store_keeps_group_access(isolated_store: Path, tmp_path: Path) -> None:
    isolated_store.mkdir()
    os.chmod(isolated_store, 0o2770)  # what a team sets up: setgid, group rwx
    old = os.umask(0o007)
    try:
        run = _run_with_every_file(tmp_path)
    finally:
        os.umask(old)
    assert _mode(isolated_store) == 0o2770  # left as the user made it
    assert _mode(isolated_store / "runs") == 0o2770
    assert _mode(run.dir) == 0o2770
    for path in [run.paths.run_json, run.paths.events]:
        mode = _mode(path)
        assert mode & 0o060 == 0o060 and mode & 0o007 == 0, (path, oct(mode))


def test_run_paths_name_every_file(tmp_path: Path) -> None:
    store = StorePaths(tmp_path)
    paths = store.run("20261130-010203-0a1b2c")
    assert paths == RunPaths(tmp_path / "runs" / "20261130-010203-0a1b2c")
    assert paths.run_id == "20261130-010203-0a1b2c"
    assert paths.events_of("supervisor").name == "events.supervisor.jsonl"
    assert store.change_log == tmp_path / "changes.log"
    assert change_log_of_event_file(paths.events) == store.change_log
    assert change_log_of_event_file(tmp_path / "events.jsonl") is None


@pytest.mark.parametrize("bad", ["../../etc", "20261130-010203-0a1b2c/..", "x", ""])
def test_run_ids_never_escape_the_runs_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidRunIdError):
        StorePaths(tmp_path).run(bad)


def test_event_files_main_first_then_by_name(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    for name in ["events.supervisor.jsonl", "events.jsonl", "events.observer.jsonl", "x.jsonl"]:
        (tmp_path / name).write_text("")
    assert [p.name for p in paths.event_files()] == [
        "events.jsonl",
        "events.observer.jsonl",
        "events.supervisor.jsonl",
    ]
    assert RunPaths(tmp_path / "missing").event_files() == []


def test_default_store_root_env_then_git_root_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKRUN_HOME", str(tmp_path / "home"))
    assert default_store_root() == (tmp_path / "home").resolve()
    monkeypatch.delenv("TRACKRUN_HOME")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert find_git_root(repo / "sub") == repo
    assert default_store_root(repo / "sub") == repo.resolve() / ".trackrun"
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    if find_git_root(plain) is None:
        assert default_store_root(plain) == plain.resolve() / ".trackrun"


def test_write_json_atomic_replaces_whole_files_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "spec.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"b": Path("/x")})  # non-JSON values are written as str
    assert json.loads(target.read_text()) == {"b": "/x"}
    with pytest.raises(ValueError):
        write_json_atomic(target, {"nan": float("nan")})
    assert json.loads(target.read_text()) == {"b": "/x"}  # the old content survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.json"]
    assert _mode(target) == 0o600


def test_new_run_draws_again_when_an_id_is_taken(tmp_path: Path) -> None:
    store = StorePaths(tmp_path / "store")
    taken = store.new_run(iter(["20261130-000000-aaaaaa"]))
    assert taken.root.is_dir() and taken.run_id == "20261130-000000-aaaaaa"
    (taken.root / "run.json").write_text("{}")
    fresh = store.new_run(iter(["20261130-000000-aaaaaa", "20261130-000000-bbbbbb"]))
    assert fresh.run_id == "20261130-000000-bbbbbb"
    assert (taken.root / "run.json").read_text() == "{}"  # the first run is untouched
    with pytest.raises(FileExistsError, match="no free run id"):
        store.new_run(iter(["20261130-000000-aaaaaa"]))


@pytest.mark.slow
def test_processes_creating_stores_at_once_all_succeed(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    # Each process creates the same 400 stores in the same order, so they keep racing to
    # create one folder (a check-then-mkdir once failed one writer of eight).
    code = (
        "import sys, time; from pathlib import Path; from trackrun.layout import StorePaths\n"
        "while time.time() < float(sys.argv[2]): pass\n"
        "for i in range(400): StorePaths(Path(sys.argv[1]) / f'store{i}').ensure()"
    )
    start = str(time.time() + 2.0)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), start], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert _mode(tmp_path / "store399") == 0o700 and _mode(tmp_path / "store399" / "runs") == 0o700


def test_read_json_object_is_empty_for_anything_but_an_object(tmp_path: Path) -> None:
    from trackrun.layout import read_json_object

    cases = {"ok.json": '{"a": 1}', "list.json": "[1]", "bad.json": "{", "empty.json": ""}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert read_json_object(tmp_path / "ok.json") == {"a": 1}
    for name in ("list.json", "bad.json", "empty.json", "missing.json"):
        assert read_json_object(tmp_path / name) == {}


def test_output_a_log_never_took_is_said_when_it_closes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = OutputLog(os.open("/dev/full", os.O_WRONLY))  # every write: No space left on device
    assert log.write(b"epoch 1\n") == 8  # the writer never fails
    assert log.held_bytes == 8
    log.close()
    assert "8 bytes of output never reached output.log" in capsys.readouterr().err
