"""Runs follow their notebook when JupyterLab renames or moves it (the contents manager's
rename events), and a kernel that still holds the old path records the new one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.server.common import get
from trackrun.magic.session import notebook_path
from trackrun.notebook_moves import follow_moves
from trackrun.run import Run

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


async def _rename(jp_fetch: Any, old: str, new: str) -> None:
    await jp_fetch(
        "api", "contents", *old.split("/"), method="PATCH", body=json.dumps({"path": new})
    )


async def _notebook_of(jp_fetch: Any, run_id: str, expected: Path) -> str:
    """The run's notebook once it is ``expected`` (the rename is followed in the background)."""
    for _ in range(100):
        notebook = str((await get(jp_fetch, f"runs/{run_id}"))["notebook"])
        if notebook == str(expected):
            break
        await asyncio.sleep(0.1)
    return notebook


async def test_runs_follow_a_renamed_notebook_then_its_moved_folder(
    jp_fetch: Any, jp_root_dir: Path, isolated_store: Path
) -> None:
    root = jp_root_dir.resolve()
    (root / "exp").mkdir()
    for name in ("a.ipynb", "other.ipynb"):
        (root / "exp" / name).write_text(json.dumps(NOTEBOOK))
    ours = Run.start(isolated_store, name="ours", notebook=str(root / "exp" / "a.ipynb"))
    ours.finish()
    other = Run.start(isolated_store, name="other", notebook=str(root / "exp" / "other.ipynb"))
    other.finish()
    await get(jp_fetch, "runs")  # indexed before the renames

    await _rename(jp_fetch, "exp/a.ipynb", "exp/b.ipynb")
    renamed = root / "exp" / "b.ipynb"
    assert await _notebook_of(jp_fetch, ours.run_id, renamed) == str(renamed)
    await _rename(jp_fetch, "exp", "final")
    moved = root / "final" / "b.ipynb"
    assert await _notebook_of(jp_fetch, ours.run_id, moved) == str(moved)
    other_now = root / "final" / "other.ipynb"
    assert await _notebook_of(jp_fetch, other.run_id, other_now) == str(other_now)

    # A kernel started before the renames still holds the first path: it records the new one.
    assert follow_moves(isolated_store, root / "exp" / "a.ipynb") == moved
    kernel = SimpleNamespace(user_ns={"__session__": str(root / "exp" / "a.ipynb")})
    assert notebook_path(kernel, isolated_store) == moved
    assert notebook_path(kernel) is None  # without the store's record the path is stale


async def test_a_rename_that_names_no_run_changes_nothing(
    jp_fetch: Any, jp_root_dir: Path, isolated_store: Path
) -> None:
    root = jp_root_dir.resolve()
    (root / "x.ipynb").write_text(json.dumps(NOTEBOOK))
    run = Run.start(isolated_store, name="elsewhere", notebook="/somewhere/else.ipynb")
    run.finish()
    await _rename(jp_fetch, "x.ipynb", "y.ipynb")
    for _ in range(50):  # until the move is recorded
        if follow_moves(isolated_store, root / "x.ipynb") == root / "y.ipynb":
            break
        await asyncio.sleep(0.1)
    assert follow_moves(isolated_store, root / "x.ipynb") == root / "y.ipynb"
    assert (await get(jp_fetch, f"runs/{run.run_id}"))["notebook"] == "/somewhere/else.ipynb"
