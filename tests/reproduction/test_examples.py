"""The measure: every tracked run the project's example notebooks make reproduces identical.

Each example runs headless in a real kernel (as tests/test_examples.py does), then every run
it recorded is reproduced: ``trackrun.reproduce(RUN, run=True)`` for one run per executed
cell; runs started by the same cell execution (a loop of ``start_run``) are re-made by that
same script, and each is compared with its counterpart of the same name.
"""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

import trackrun
from trackrun.reproduction.verdict import compare_runs
from trackrun.store import Store

from ..notebooks import execute_notebook
from .helpers import child_env, runs_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Every example notebook. Together they take about 75 s of CPU (seeds_and_significance
#: about 25 s of it); two run at a time, one per core.
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))


def cell_execution(store: Path, run_id: str) -> tuple[str, str]:
    """What identifies the cell execution that started a run: its code and history state."""
    code = store / "runs" / run_id / "code"
    return (code / "cell.py").read_text(), (code / "history.json").read_text()


def measure(name: str, tmp_path: Path) -> dict[str, str]:
    """Run example notebook ``name`` headless, reproduce every run it recorded: the verdict
    of each run (by id)."""
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    store = tmp_path / "store"
    nb = nbformat.read(work / name, as_version=4)
    env = {"TRACKRUN_HOME": str(store), **child_env()}
    execute_notebook(work / name, nb, timeout=600, env=env)
    originals = runs_in(store)
    assert originals, f"{name} recorded no run"
    verdicts: dict[str, str] = {}
    reproduced: dict[tuple[str, str], str] = {}
    for run in originals:
        key = cell_execution(store, run["run_id"])
        if key not in reproduced:
            result = trackrun.reproduce(
                run["run_id"], tmp_path / f"repro-{run['run_id']}", run=True, store=store
            )
            reproduced[key] = run["run_id"]
            verdicts[run["run_id"]] = str(result.comparison)
            continue
        # A sibling of a run already reproduced: its script re-made this run too.
        twin = [
            r for r in runs_in(store)
            if r.get("reproduces") == reproduced[key] and r["name"] == run["name"]
        ]  # fmt: skip
        assert len(twin) == 1, run["name"]
        found = compare_runs(Store(store, lease=0), run["run_id"], twin[0]["run_id"])
        verdicts[run["run_id"]] = str(found)
    return verdicts


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_example_run_reproduces_identical(tmp_path: Path) -> None:
    # Two notebooks at a time, each in a fresh process (a kernel client's event loop is
    # bound to the thread that made it: threads would leak them).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        futures = {n: pool.submit(measure, n, tmp_path / Path(n).stem) for n in NOTEBOOKS}
        verdicts = {name: future.result() for name, future in futures.items()}
    total = identical = 0
    for name, found in verdicts.items():
        same = sum(v == "identical" for v in found.values())
        print(f"MEASURE {name}: {same}/{len(found)} runs reproduce identical")
        total, identical = total + len(found), identical + same
    print(f"MEASURE total: {identical}/{total} runs reproduce identical")
    assert identical == total, verdicts
