"""A full disk under the index: a clear error that says so, nothing set aside, and the
store answers again once space is back (a real tmpfs of a few MB, filled for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackrun
from trackrun.errors import StoreError
from trackrun.store import Store

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


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
