"""The store's own files are private (0600, folders 0700) unless the store folder is shared."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import trackrun
from trackrun.store import Store
from trackrun.store.gc import trash_runs


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _use(root: Path) -> list[str]:
    assert len(Store(root).runs()) == 0  # the store module makes the store (run folders are
    # created by run.py, which has its own test)
    ids = []
    for i in range(2):
        run = trackrun.start_run(store=root, name=f"r{i}")
        run.log({"x": 1.0}, step=0)
        run.finish(status="failed", error="boom")
        ids.append(run.run_id)
    store = Store(root)
    assert len(store.runs()) == 2
    trash_runs(store, ids[:1])
    store.close()
    return ids


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _own_files(root: Path) -> list[Path]:
    return [root / n for n in ("index.duckdb", "index.lock", "index.lock.wait")]


def test_a_new_store_is_private(tmp_path: Path, umask_022: object) -> None:
    root = tmp_path / "project" / ".trackrun"
    _use(root)
    assert _mode(root) == 0o700
    assert _mode(root / "trash") == 0o700
    for path in _own_files(root):
        assert _mode(path) == 0o600, path
    assert _mode(tmp_path / "project") == 0o755  # the user's own folder is left as it was


def test_an_old_world_readable_index_is_narrowed(tmp_path: Path, umask_022: object) -> None:
    root = tmp_path / ".trackrun"
    _use(root)
    for path in _own_files(root):
        os.chmod(path, 0o644)
    Store(root).ingest([])  # any later use of the index
    store = Store(root)
    store.runs()
    store.close()
    for path in _own_files(root):
        assert _mode(path) == 0o600, path


@pytest.mark.parametrize("shared_mode", [0o2770, 0o770, 0o2750])
def test_a_group_shared_store_stays_shared(
    tmp_path: Path, umask_022: object, shared_mode: int
) -> None:
    root = tmp_path / ".trackrun"
    root.mkdir()
    os.chmod(root, shared_mode)
    _use(root)
    assert _mode(root) == shared_mode
    trash = _mode(root / "trash")
    assert trash & 0o770 == 0o770 and trash & 0o007 == 0
    assert bool(trash & stat.S_ISGID) == bool(shared_mode & stat.S_ISGID)
    for path in _own_files(root):
        assert _mode(path) == 0o660, path
