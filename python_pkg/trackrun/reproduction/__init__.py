"""Reproduce a run from its record: write a standalone script folder, run it, compare.

The package is named ``reproduction`` so that importing it never shadows the function
``trackrun.reproduce`` (importing a submodule binds its name on the parent package).
See docs/reproduce.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.reproduction.folder import Folder, write_folder
from trackrun.reproduction.record import Record, load_record
from trackrun.reproduction.verdict import (
    DEFAULT_RTOL,
    Verdict,
    compare_runs,
    folder_log,
    record_verdict,
    script_failed,
)

if TYPE_CHECKING:
    from trackrun.store import Store

__all__ = ["DEFAULT_RTOL", "Reproduction", "reproduce", "slice_text"]


@dataclass
class Reproduction:
    """The outcome of ``reproduce``: the ``folder`` written and, after a run, the new run's
    id (None when the script started none), the script's exit status and the
    ``comparison`` with the original."""

    original: str
    folder: Folder
    reproduction: str | None = None
    returncode: int | None = None
    comparison: Verdict | None = None

    @property
    def verdict(self) -> str | None:
        """identical, within tolerance or different; None when the script was not run."""
        return None if self.comparison is None else self.comparison.verdict

    def to_text(self) -> str:
        """The folder written, then the final metrics side by side and the verdict."""
        names = sorted(p.name for p in self.folder.path.iterdir() if p.name != "reproduce.log")
        lines = [f"wrote {self.folder.path}/ ({', '.join(names)})"]
        if self.comparison is None:
            if self.returncode is not None:
                lines.append(
                    f"reproduce.py exited with status {self.returncode}; see {folder_log(self.folder.path)}"
                )
            return "\n".join(lines)
        lines.append(
            f"original {self.original}  reproduction {self.reproduction or '(none started)'}"
        )
        lines.append(self.comparison.to_text())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<trackrun.Reproduction of {self.original}>\n{self.to_text()}"


def reproduce(
    source: str,
    out: str | os.PathLike[str] | None = None,
    *,
    run: bool = False,
    force: bool = False,
    rtol: float = DEFAULT_RTOL,
    timeout: float | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> Reproduction:
    """Write the reproduction folder of run ``source`` (id, prefix or name) to ``out``
    (default ``./reproduce-<run id>``); with ``run``, run reproduce.py in a fresh process
    with this interpreter, compare the new run with the original within ``rtol`` and store
    the verdict on both runs.

    A script that fails (or ends) before its run starts gives ``different``, recorded on the
    original with the reason and the end of the script's output.

    Raises RunNotFoundError for an unknown run, TrackrunError for a run without recorded
    code or history, or a non-empty ``out`` without ``force``; nothing is written then.
    """
    from trackrun.comparison import open_store

    the_store = open_store(store)
    record = load_record(the_store, source)
    target = Path(out) if out is not None else Path.cwd() / f"reproduce-{record.run_id}"
    folder = write_folder(record, target.resolve(), force=force)
    result = Reproduction(record.run_id, folder)
    if not run:
        return result
    started = time.time()
    result.returncode = _run_script(record, folder, the_store.root, timeout)
    result.reproduction = _find_reproduction(the_store, record, started)
    if result.reproduction is None:
        result.comparison = script_failed(result.returncode, folder_log(folder.path), rtol)
        record_verdict(the_store, record.run_id, None, result.comparison)
        return result
    result.comparison = compare_runs(the_store, record.run_id, result.reproduction, rtol)
    if result.returncode:
        result.comparison.reasons.append(f"reproduce.py exited with status {result.returncode}")
        result.comparison.verdict = "different"
    record_verdict(the_store, record.run_id, result.reproduction, result.comparison)
    return result


def slice_text(source: str, *, store: str | os.PathLike[str] | Store | None = None) -> str:
    """The text of reproduce.py for run ``source``, without writing anything (the magic
    inserts it as a cell)."""
    from trackrun.comparison import open_store
    from trackrun.reproduction.script import build_script

    return build_script(load_record(open_store(store), source)).text


def _run_script(record: Record, folder: Folder, store_root: Path, timeout: float | None) -> int:
    """Run reproduce.py with this interpreter where the original ran (its recorded working
    directory when it still exists); output goes to reproduce.log and the console."""
    cwd = record.cwd if record.cwd is not None and record.cwd.is_dir() else folder.path
    env = {**os.environ, "TRACKRUN_HOME": str(store_root), "MPLBACKEND": "Agg"}
    with open(folder_log(folder.path), "wb") as log:
        try:
            completed = subprocess.run(
                [sys.executable, str(folder.script_path)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return 124
    return completed.returncode


def _find_reproduction(store: Store, record: Record, started: float) -> str | None:
    """The run reproduce.py started for ``record``: among new runs naming it in
    ``reproduces``, the one with the original's name or params, else the first."""
    found: list[dict[str, Any]] = []
    for entry in os.scandir(store.paths.runs):
        try:
            if entry.stat().st_mtime < started - 1:
                continue
            info = json.loads(Path(entry.path, "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("reproduces") == record.run_id and info.get("created_at", 0) >= started - 1:
            found.append(info)
    if not found:
        return None
    found.sort(key=lambda i: float(i.get("created_at") or 0))
    name, params = record.info.get("name"), record.info.get("params")
    same_name = [i for i in found if i.get("name") == name]
    same_params = [i for i in found if params and i.get("params") == params]
    return str((same_name or same_params or found)[0]["run_id"])
