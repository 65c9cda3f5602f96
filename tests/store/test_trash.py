"""The trash as a way back: listing it, restoring a run (re-indexed), deleting one for good."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import InvalidRunIdError, RunNotFoundError, RunStateError
from trackrun.store import Store
from trackrun.store.gc import delete_forever, list_trash, restore_run, trash_runs


def _run(name: str, lr: float) -> str:
    with trackrun.start_run(name=name, params={"lr": lr}, tags=["keep"]) as run:
        for step in range(3):
            trackrun.log(loss=lr * step, step=step)
    return run.run_id


def test_restore_puts_the_folder_back_and_reindexes(isolated_store: Path) -> None:
    kept, other = _run("kept", 0.1), _run("other", 0.2)
    store = Store(isolated_store)
    trash_runs(store, [kept])
    assert [r["run_id"] for r in store.runs()] == [other]
    listed = list_trash(store)
    assert [(r["run_id"], r["name"]) for r in listed] == [(kept, "kept")]
    assert listed[0]["deleted_at"] > 0 and listed[0]["created_at"] is not None

    assert restore_run(store, kept) == kept
    assert (isolated_store / "runs" / kept / "events.jsonl").is_file()
    assert not (isolated_store / "trash" / kept).exists()
    assert list_trash(store) == []
    row = next(r for r in store.runs() if r["run_id"] == kept)
    assert row["params.lr"] == 0.1 and row["tags"] == ["keep"]
    assert store.summary(kept)["metrics"]["loss"]["last"] == pytest.approx(0.2)
    # A fresh process reading the store sees it too.
    assert kept in {r["run_id"] for r in Store(isolated_store).runs()}


def test_restore_refuses_when_a_run_with_that_id_exists(isolated_store: Path) -> None:
    run_id = _run("twin", 0.1)
    store = Store(isolated_store)
    trash_runs(store, [run_id])
    # Someone put a folder of the same id back in runs/ meanwhile (a copy, a sync).
    os.makedirs(isolated_store / "runs" / run_id)
    with pytest.raises(RunStateError, match="already exists"):
        restore_run(store, run_id)
    assert (isolated_store / "trash" / run_id / "run.json").is_file()


def test_bad_and_unknown_ids_are_refused_and_nothing_outside_the_trash_is_touched(
    isolated_store: Path,
) -> None:
    live = _run("live", 0.1)
    store = Store(isolated_store)
    for bad in ("../runs", "x/../../etc", "", "20261126-031302-7F3A9C"):
        with pytest.raises(InvalidRunIdError):
            restore_run(store, bad)
        with pytest.raises(InvalidRunIdError):
            delete_forever(store, bad)
    # A run that exists but is not in the trash is not found there, and stays.
    with pytest.raises(RunNotFoundError, match="no run .* in the trash"):
        delete_forever(store, live)
    with pytest.raises(RunNotFoundError):
        restore_run(store, live)
    assert (isolated_store / "runs" / live / "run.json").is_file()


def test_delete_forever_removes_one_folder_and_never_follows_a_symlink(
    isolated_store: Path, tmp_path: Path
) -> None:
    gone, stays = _run("gone", 0.1), _run("stays", 0.2)
    store = Store(isolated_store)
    trash_runs(store, [gone, stays])
    assert delete_forever(store, gone, dry_run=True) == gone
    assert (isolated_store / "trash" / gone).is_dir()
    assert delete_forever(store, gone) == gone
    assert not (isolated_store / "trash" / gone).exists()
    assert [r["run_id"] for r in list_trash(store)] == [stays]
    # A symlink named like a run in the trash is not a trashed run: its target stays.
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data").write_text("keep")
    fake = "20200101-000000-abcdef"
    os.symlink(outside, isolated_store / "trash" / fake)
    with pytest.raises(RunNotFoundError):
        delete_forever(store, fake)
    assert (outside / "data").read_text() == "keep"
    assert fake not in {r["run_id"] for r in list_trash(store)}


def test_cli_lists_and_restores(isolated_store: Path) -> None:
    run_id = _run("cli", 0.3)
    trash_runs(Store(isolated_store), [run_id])
    env = {**os.environ, "TRACKRUN_HOME": str(isolated_store)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trackrun.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    listed = cli("trash")
    assert listed.returncode == 0 and run_id in listed.stdout and "cli" in listed.stdout
    restored = cli("restore", run_id)
    assert restored.returncode == 0, restored.stderr
    assert f"restored {run_id}" in restored.stdout
    again = cli("restore", run_id)
    assert again.returncode == 1 and "no run" in again.stderr and "trash" in again.stderr
    assert run_id in cli("ls").stdout
