"""Every deleting operation honours --dry-run: nothing on disk or in the index changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackrun
from trackrun.store import Store
from trackrun.store.gc import purge_trash, select_garbage, trash_runs


def _cli(store: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TRACKRUN_HOME": str(store)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _runs(count: int, status: str = "finished") -> list[str]:
    ids = []
    for i in range(count):
        run = trackrun.start_run(name=f"r{i}")
        trackrun.log(x=float(i), step=0)
        if status == "failed":
            run.finish(status="failed", error="boom")
        else:
            run.finish()
        ids.append(run.run_id)
    return ids


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if "index" not in p.name)


@pytest.fixture
def trashed(isolated_store: Path) -> list[str]:
    ids = _runs(2, status="failed")
    assert trash_runs(Store(isolated_store), ids) == ids
    assert sorted(os.listdir(isolated_store / "trash")) == sorted(ids)
    return ids


def test_purge_dry_run_deletes_nothing(isolated_store: Path, trashed: list[str]) -> None:
    before = _tree(isolated_store)
    out = _cli(isolated_store, "gc", "--purge", "--dry-run")
    assert "would delete 2 run(s)" in out and all(run_id in out for run_id in trashed)
    assert _tree(isolated_store) == before
    assert purge_trash(Store(isolated_store), dry_run=True) == sorted(trashed)
    assert _tree(isolated_store) == before
    # Without --dry-run it does delete.
    assert "deleted 2 run(s)" in _cli(isolated_store, "gc", "--purge")
    assert os.listdir(isolated_store / "trash") == []


def test_rm_dry_run_moves_nothing(isolated_store: Path) -> None:
    ids = _runs(2)
    before = _tree(isolated_store)
    out = _cli(isolated_store, "rm", "--dry-run", ids[0])
    assert f"would move 1 run(s) to the trash: {ids[0]}" in out
    assert _tree(isolated_store) == before
    assert trash_runs(Store(isolated_store), [ids[1]], dry_run=True) == [ids[1]]
    assert _tree(isolated_store) == before
    assert sorted(Store(isolated_store).runs()["run_id"]) == sorted(ids)


def test_gc_dry_run_moves_nothing(isolated_store: Path) -> None:
    failed = _runs(2, status="failed")
    _runs(1)
    before = _tree(isolated_store)
    out = _cli(isolated_store, "gc", "--dry-run")
    assert "would move 2 run(s)" in out
    assert _tree(isolated_store) == before
    assert select_garbage(Store(isolated_store)) == sorted(failed)
    assert len(Store(isolated_store).runs()) == 3


def test_a_run_trashed_twice_keeps_both_copies(isolated_store: Path) -> None:
    (run_id,) = _runs(1, status="failed")
    store = Store(isolated_store)
    source = isolated_store / "runs" / run_id
    trash_runs(store, [run_id])
    # The same run folder comes back (copied from a colleague, say) and is trashed again.
    os.rename(isolated_store / "trash" / run_id, source)
    (isolated_store / "trash" / run_id).mkdir()
    (isolated_store / "trash" / run_id / "older.txt").write_text("older copy")
    trash_runs(store, [run_id])
    kept = os.listdir(isolated_store / "trash")
    assert run_id in kept and len(kept) == 2
    older = next(name for name in kept if name != run_id)
    assert (isolated_store / "trash" / older / "older.txt").read_text() == "older copy"
