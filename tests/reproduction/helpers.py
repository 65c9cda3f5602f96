"""Shared steps of the reproduce tests: a git project, a kernel that runs cells, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from trackrun.layout import RunPaths
from trackrun.reproduction.record import Record

from ..kernels import Kernel, error_of
from ..notebooks import make_git_project

#: The package folder of this checkout, so kernels and subprocesses import this trackrun.
PACKAGE = str(Path(__file__).resolve().parents[2] / "python_pkg")


def project(tmp_path: Path) -> Path:
    """A git project (one commit, one uncommitted change) whose store is its .trackrun/."""
    return make_git_project(tmp_path / "project")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of kernels and subprocesses: this checkout first on the path."""
    path = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": PACKAGE + (os.pathsep + path if path else ""), **(extra or {})}


def run_cells(kernel: Kernel, cells: list[str | tuple[str, bool]]) -> None:
    """Execute each cell in order; a ``(code, True)`` cell is expected to raise."""
    for number, cell in enumerate(cells, start=1):
        code, should_fail = (cell, False) if isinstance(cell, str) else cell
        error = error_of(kernel.run(code, cell_id=f"c{number}"))
        if should_fail:
            assert error is not None, f"cell {number} should have failed: {code}"
        else:
            assert error is None, f"cell {number} failed: {error}\n{code}"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``trackrun ARGS`` as a real subprocess of this interpreter."""
    env = {**os.environ, **child_env()}
    return subprocess.run(
        [sys.executable, "-m", "trackrun.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=cwd,
    )


def runs_in(store: Path) -> list[dict[str, Any]]:
    """run.json of every run in ``store``, oldest first."""
    infos = [json.loads(p.read_text()) for p in (store / "runs").glob("*/run.json")]
    return sorted(infos, key=lambda i: i["created_at"])


def api_events(store: Path, run_id: str) -> list[dict[str, Any]]:
    path = store / "runs" / run_id / "events.api.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def recorded(
    folder: Path, history: list[str], cell: str, params: dict[str, Any] | None = None
) -> Record:
    """The record of a ``%%track_run`` cell run in ``folder`` after the cells ``history``,
    as the magic writes it: the history in the form IPython keeps (its own transformer turns
    ``!cmd`` and magics into ``get_ipython()`` calls), the cell as typed."""
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    entries = [(n, transform(text).rstrip("\n")) for n, text in enumerate(history, start=1)]
    info = {
        "run_id": "recorded",
        "name": "recorded",
        "launch": {"kind": "inline"},
        "params": params or {},
        "provenance": {"process": {"cwd": str(folder)}},
    }
    paths = RunPaths(folder / ".trackrun" / "runs" / "recorded")
    return Record("recorded", paths, info, "cell", cell, history=entries, watched_from=1)
