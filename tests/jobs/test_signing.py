"""Signed pickles: the store key, signatures, and refusals of foreign or changed pickles."""

from __future__ import annotations

import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from trackrun.layout import RunPaths
from trackrun.signing import UntrustedPickleError, read_verified, store_key, write_signed


class _CreatesFile:
    """Unpickling this creates a file: what a malicious pickle could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_key_is_private_and_stable(tmp_path: Path) -> None:
    key = store_key(tmp_path / "store")
    path = tmp_path / "store" / "key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store_key(tmp_path / "store") == key
    assert store_key(tmp_path / "other") != key


def test_signed_file_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "out.pkl"
    write_signed(target, b"payload", tmp_path / "store")
    assert read_verified(target, tmp_path / "store", "outputs") == b"payload"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_changed_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    store = tmp_path / "store"
    target = tmp_path / "outputs.pkl"
    write_signed(target, pickle.dumps({"x": 1}), store)
    marker = tmp_path / "pwned"
    target.write_bytes(pickle.dumps(_CreatesFile(marker)))
    with pytest.raises(UntrustedPickleError, match="changed after this store wrote them"):
        pickle.loads(read_verified(target, store, "outputs"))
    assert not marker.exists()


def test_pickle_of_another_store_is_refused_unless_trusted(tmp_path: Path) -> None:
    target = tmp_path / "outputs.pkl"
    write_signed(target, pickle.dumps({"x": 1}), tmp_path / "a")
    with pytest.raises(UntrustedPickleError, match="written by another store"):
        read_verified(target, tmp_path / "b", "outputs")
    assert pickle.loads(read_verified(target, tmp_path / "b", "outputs", trust=True)) == {"x": 1}


def test_unsigned_pickle_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "inputs.pkl"
    target.write_bytes(pickle.dumps(1))
    with pytest.raises(UntrustedPickleError, match="no valid signature"):
        read_verified(target, tmp_path / "store", "inputs")
    os.unlink(target)
    with pytest.raises(FileNotFoundError):
        read_verified(target, tmp_path / "store", "inputs")


def test_checkpoints_are_signed_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    from trackrun.run import Run

    run = Run.start(tmp_path / "store", name="ck")
    try:
        path = run.checkpoint({"w": [1, 2]}, step=3)
        loaded = run.latest_checkpoint()
        assert loaded is not None and loaded.state == {"w": [1, 2]} and loaded.step == 3
        marker = tmp_path / "pwned"
        path.write_bytes(pickle.dumps(_CreatesFile(marker)))
        with pytest.raises(UntrustedPickleError, match="checkpoint"):
            run.latest_checkpoint()
        assert not marker.exists()
    finally:
        run.finish()


def test_job_refuses_changed_inputs_and_never_unpickles_them(
    tmp_path: Path, make_job: Callable[..., RunPaths], store_root: Path
) -> None:
    """A job whose inputs.pkl was replaced fails before running anything."""
    import subprocess
    import sys

    paths = make_job("print('ran')")
    marker = tmp_path / "pwned"
    (paths.job / "inputs.pkl").write_bytes(pickle.dumps(_CreatesFile(marker)))
    result = subprocess.run(
        [sys.executable, "-c", "from trackrun.jobs.runner import main; main()", str(paths.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "changed after this store wrote them" in (paths.job / "error.txt").read_text()
    assert not marker.exists() and "ran" not in result.stdout
