"""Every example notebook runs end to end in a real kernel, so the examples never rot."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from trackrun.store import Store

from .notebooks import execute_notebook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))


def test_examples_exist_and_are_paired() -> None:
    assert {"quickstart.ipynb", "detach_and_reattach.ipynb", "seeds_and_significance.ipynb"} <= set(
        NOTEBOOKS
    )
    import jupytext

    for name in NOTEBOOKS:
        paired = EXAMPLES / name.replace(".ipynb", ".py")
        assert paired.is_file(), f"{name} has no paired .py file"
        notebook_code = [
            c.source for c in jupytext.read(EXAMPLES / name).cells if c.cell_type == "code"
        ]
        script_code = [c.source for c in jupytext.read(paired).cells if c.cell_type == "code"]
        assert notebook_code == script_code, f"{name} and its .py disagree: run jupytext --sync"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_example_notebook_runs(name: str, tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    store_root = tmp_path / "store"
    nb = nbformat.read(work / name, as_version=4)
    execute_notebook(work / name, nb, timeout=600, env={"TRACKRUN_HOME": str(store_root)})
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    runs = Store(store_root, lease=0).runs()
    assert len(runs) >= 1 and set(runs["status"]) == {"finished"}
