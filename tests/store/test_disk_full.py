"""A full disk under the index: a clear error that says so, nothing set aside, and the
store answers again once space is back (a real tmpfs of a few MB, filled for real)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import StoreError
from trackrun.store import Store

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (needs root, as in CI; elsewhere the test is skipped, never in CI)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        if os.environ.get("CI"):
            raise AssertionError(f"cannot mount a tmpfs in CI: {made.stderr.decode()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_named_and_the_index_is_kept(tiny_disk: Path) -> None:
    root = tiny_disk / "store"
    with trackrun.start_run(store=root, name="before") as run:
        for step in range(3000):
            trackrun.log(a=step, b=step * 2.0, step=step)
    filler = _fill(tiny_disk)
    store = Store(root, lease=0)
    with pytest.raises(StoreError, match="No space left on device. Free some space"):
        store.runs()
    store.close()
    assert not list(root.glob("index.duckdb.broken-*"))  # a full disk is not damage
    filler.unlink()
    answer = Store(root, lease=0).runs()
    assert answer["name"] == ["before"] and answer["status"] == ["finished"]
    assert len(Store(root, lease=0).metrics(run.run_id, ["a"])) == 3000
