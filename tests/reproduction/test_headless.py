"""Headless runs (nbclient, nbconvert --execute) record their notebook without
JPY_SESSION_NAME: from the launcher's command line, else the kernel's working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ..notebooks import notebook
from .helpers import child_env, runs_in


def headless_env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "TRACKRUN_HOME")}
    return {**env, **child_env({"TRACKRUN_HOME": str(store)})}


@pytest.mark.slow
def test_nbclient_run_finds_its_notebook_in_the_kernel_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    (folder / "other.ipynb").write_text(nbformat.writes(notebook("print('another notebook')")))
    path = folder / "train.ipynb"
    nb = notebook("%load_ext trackrun\nimport trackrun", "%%track_run\ntrackrun.log(v=1.0, step=0)")
    nbformat.write(nb, path)
    store = tmp_path / "store"
    client = NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(folder)}})
    client.execute(env=headless_env(store))
    (run,) = runs_in(store)
    assert run["notebook"] == str(path.resolve())
    notebook_text = (store / "runs" / run["run_id"] / "code" / "notebook.py").read_text()
    assert "%%track_run" in notebook_text


@pytest.mark.slow
def test_nbconvert_execute_finds_its_notebook_on_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "nbs"
    folder.mkdir()
    cell = "import trackrun\nwith trackrun.start_run(name='headless'):\n    trackrun.log(v=2.0, step=0)"
    # Two notebooks hold the same cell: the folder alone cannot tell which one ran.
    for name in ("a.ipynb", "b.ipynb"):
        nbformat.write(notebook(cell), folder / name)
    store = tmp_path / "store"
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "nbs/b.ipynb",
         "--output", "b-done.ipynb"],
        cwd=tmp_path, env=headless_env(store), check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (run,) = runs_in(store)
    assert run["notebook"] == str((folder / "b.ipynb").resolve())
    assert run["launch"] == {"kind": "notebook"}
    assert (store / "runs" / run["run_id"] / "code" / "cell.py").read_text() == cell
