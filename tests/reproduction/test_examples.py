"""The measure: every tracked run the project's example notebooks make reproduces identical.

Each example runs headless in a real kernel (as tests/test_examples.py does), then every run
it recorded is reproduced: ``trackrun.reproduce(RUN, run=True)`` for one run per executed
cell; runs started by the same cell execution (a loop of ``start_run``) are re-made by that
same script, and each is compared with its counterpart of the same name.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

import trackrun
from trackrun.reproduction.verdict import compare_runs
from trackrun.store import Store

from ..notebooks import execute_notebook
from .helpers import child_env, runs_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: CI reproduces a sample (the seeds notebook alone takes ~10 minutes on 2 cores);
#: TRACKRUN_MEASURE_ALL=1 measures every example notebook.
NOTEBOOKS = sorted(
    p.name
    for p in EXAMPLES.glob("*.ipynb")
    if os.environ.get("TRACKRUN_MEASURE_ALL") or p.name != "seeds_and_significance.ipynb"
)


def cell_execution(store: Path, run_id: str) -> tuple[str, str]:
    """What identifies the cell execution that started a run: its code and history state."""
    code = store / "runs" / run_id / "code"
    return (code / "cell.py").read_text(), (code / "history.json").read_text()


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_example_run_reproduces_identical(name: str, tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    store = tmp_path / "store"
    nb = nbformat.read(work / name, as_version=4)
    env = {"TRACKRUN_HOME": str(store), **child_env()}
    execute_notebook(work / name, nb, timeout=600, env=env)
    originals = runs_in(store)
    assert originals
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
    identical = [r for r, v in verdicts.items() if v == "identical"]
    print(f"\nMEASURE {name}: {len(identical)}/{len(originals)} runs reproduce identical")
    assert len(identical) == len(originals), verdicts
