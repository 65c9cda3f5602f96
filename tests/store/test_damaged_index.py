"""A damaged index.duckdb is set aside (kept) and rebuilt; only a real lock is called a lock."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import StoreError
from trackrun.store import Store

pytestmark = pytest.mark.chaos

RUNS, STEPS = 4, 300


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of RUNS runs with its index built and let go (checkpointed)."""
    root = tmp_path_factory.mktemp("pristine") / "store"
    for i in range(RUNS):
        with trackrun.start_run(store=root, params={"i": i}, tags=["t"]) as run:
            for step in range(STEPS):
                run.log({"loss": step * (i + 1), "acc": step / STEPS}, step=step)
    store = Store(root)
    assert len(store.runs()) == RUNS
    store.close()
    assert not (root / "index.duckdb.wal").exists()
    return root


def _copy(pristine: Path, tmp_path: Path) -> Path:
    root = tmp_path / "damaged"
    shutil.copytree(pristine, root)
    return root


def _answers(root: Path) -> tuple[list[str], int, list[float]]:
    store = Store(root)
    try:
        table = store.runs(order_by="params.i")
        history = store.metrics(table["run_id"][-1], ["loss"])
        count = store.sql("SELECT count(*) AS n FROM metrics")["n"][0]
        return [str(s) for s in table["status"]], int(count), history["value"][-2:]
    finally:
        store.close()


def _expected() -> tuple[list[str], int, list[float]]:
    return (
        ["finished"] * RUNS,
        RUNS * STEPS * 2,
        [float((STEPS - 2) * RUNS), float((STEPS - 1) * RUNS)],
    )


def _broken_copies(root: Path) -> list[str]:
    return sorted(n for n in os.listdir(root) if n.startswith("index.duckdb.broken-"))


@pytest.mark.parametrize("fraction", [i / 10 for i in range(11)])
def test_truncated_index_is_set_aside_and_rebuilt(
    pristine: Path, tmp_path: Path, fraction: float, capfd: pytest.CaptureFixture[str]
) -> None:
    root = _copy(pristine, tmp_path)
    index = root / "index.duckdb"
    size = index.stat().st_size
    os.truncate(index, int(size * fraction))
    assert _answers(root) == _expected()
    err = capfd.readouterr().err
    copies = _broken_copies(root)
    if fraction < 1:
        assert len(copies) == 1, err
        assert (root / copies[0]).stat().st_size == int(size * fraction)
        assert err.count("was damaged") == 1 and "open in another program" not in err
    else:
        assert copies == [] and "damaged" not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("seed", range(6))
def test_scribbled_blocks_are_set_aside_and_rebuilt(
    pristine: Path, tmp_path: Path, seed: int, capfd: pytest.CaptureFixture[str]
) -> None:
    root = _copy(pristine, tmp_path)
    index = root / "index.duckdb"
    size = index.stat().st_size
    rnd = random.Random(seed)
    with open(index, "r+b") as f:
        # Every used block after the file headers gets random bytes somewhere in it.
        for block in range(12288, size, 262144):
            f.seek(block + rnd.randrange(0, min(262144, size - block) - 512))
            f.write(rnd.randbytes(512))
    assert _answers(root) == _expected()
    err = capfd.readouterr().err
    assert "open in another program" not in err  # a checksum error is not a lock
    assert len(_broken_copies(root)) == 1, err
    assert err.count("was damaged") == 1


def test_garbage_wal_still_gives_correct_answers(
    pristine: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = _copy(pristine, tmp_path)
    wal = root / "index.duckdb.wal"
    wal.write_bytes(random.Random(1).randbytes(50_000))
    assert _answers(root) == _expected()
    err = capfd.readouterr().err
    # DuckDB either refuses the WAL (then the index is set aside, and kept) or ignores it.
    assert ("was damaged" in err) == bool(_broken_copies(root)), err
    assert "Traceback" not in err


def test_a_real_lock_is_reported_as_a_lock_and_nothing_is_moved(
    pristine: Path, tmp_path: Path
) -> None:
    root = _copy(pristine, tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(root / "index.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = Store(root)
        with pytest.raises(StoreError, match="open in another program"):
            store.runs()
        store.close()
        assert _broken_copies(root) == []
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert _answers(root) == _expected()
