"""The measure: every tracked run the project's example notebooks make reproduces identical.

Each example runs headless in a real kernel (as tests/test_examples.py does), then every run
it recorded goes through ``trackrun.reproduce(RUN, run=True)``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

import trackrun

from ..notebooks import execute_notebook
from .helpers import child_env, runs_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_example_run_reproduces_identical(name: str, tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    store = tmp_path / "store"
    nb = nbformat.read(work / name, as_version=4)
    execute_notebook(work / name, nb, timeout=600, env={"TRACKRUN_HOME": str(store), **child_env()})
    originals = [r["run_id"] for r in runs_in(store)]
    assert originals
    verdicts = {}
    for run_id in originals:
        result = trackrun.reproduce(run_id, tmp_path / f"repro-{run_id}", run=True, store=store)
        verdicts[run_id] = str(result.comparison)
    identical = [r for r, v in verdicts.items() if v == "identical"]
    print(f"{name}: {len(identical)}/{len(originals)} runs reproduce identical")
    assert len(identical) == len(originals), verdicts
