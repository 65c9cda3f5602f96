"""Helpers for tests that run real notebooks through a real kernel."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from .kernels import ipc_folder


def make_git_project(root: Path) -> Path:
    """A git repository with one commit and one uncommitted change (so it is dirty)."""
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    (root / "model.py").write_text("HIDDEN = 32\n")
    git("add", "model.py")
    git("commit", "-q", "-m", "initial")
    (root / "model.py").write_text("HIDDEN = 64  # wider\n")
    return root


def notebook(*cells: str) -> Any:
    """A notebook with code ``cells`` (each with a stable id)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell-{i}") for i, src in enumerate(cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def execute_notebook(
    path: Path,
    nb: Any,
    allow_errors: bool = False,
    timeout: int = 300,
    env: dict[str, str] | None = None,
) -> Any:
    """Save ``nb`` at ``path`` and execute it in a real kernel started in its folder, the way
    JupyterLab would (the kernel is told the notebook path)."""
    nbformat.write(nb, path)
    kernel_env = {k: v for k, v in os.environ.items() if k != "TRACKRUN_HOME"}
    kernel_env["JPY_SESSION_NAME"] = str(path)
    kernel_env.update(env or {})
    folder = ipc_folder()  # see ipc_folder: no TCP port races between parallel tests
    client = NotebookClient(
        nb,
        config=Config({"KernelManager": {"transport": "ipc", "ip": str(folder / "k")}}),
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=kernel_env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    nbformat.write(nb, path)
    return nb
