"""Where things live: the store's folders and the files of one run directory, and the format version."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trackrun.ids import check_run_id

#: Version of the run directory format, written into every run.json.
FORMAT_VERSION = 1

#: Terminal statuses: a run in one of these never changes again.
TERMINAL_STATUSES = frozenset({"finished", "failed", "killed", "lost"})
#: Statuses of a run that may still change.
ACTIVE_STATUSES = frozenset({"queued", "running"})


@dataclass(frozen=True)
class RunPaths:
    """The files of one run directory ``<store>/runs/<run_id>/``."""

    root: Path

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def events(self) -> Path:
        """Events written by the process that runs the code (metrics, params, status)."""
        return self.root / "events.jsonl"

    def events_of(self, writer: str) -> Path:
        """Events of another writer (e.g. ``supervisor``): ``events.<writer>.jsonl``."""
        return self.root / f"events.{writer}.jsonl"

    @property
    def output_log(self) -> Path:
        return self.root / "output.log"

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def job(self) -> Path:
        return self.root / "job"

    def event_files(self) -> list[Path]:
        """All event files present, ``events.jsonl`` first, then the others by name."""
        try:
            names = sorted(
                e.name
                for e in os.scandir(self.root)
                if e.name.startswith("events") and e.name.endswith(".jsonl")
            )
        except FileNotFoundError:
            return []
        names.sort(key=lambda n: (n != "events.jsonl", n))
        return [self.root / n for n in names]


@dataclass(frozen=True)
class StorePaths:
    """The folders and files of one store (by default ``.trackrun/`` at the git root)."""

    root: Path

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def index(self) -> Path:
        return self.root / "index.duckdb"

    @property
    def lock(self) -> Path:
        return self.root / "index.lock"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    def run(self, run_id: str) -> RunPaths:
        """Paths of the run ``run_id``; the id is validated so it can never escape ``runs/``."""
        return RunPaths(self.runs / check_run_id(run_id))

    def ensure(self) -> StorePaths:
        """Create the store folders (private to the user) if missing; return self."""
        self.runs.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def find_git_root(start: Path) -> Path | None:
    """Return the top folder of the git work tree containing ``start``, or None."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_store_root(cwd: Path | None = None) -> Path:
    """Resolve the store: ``$TRACKRUN_HOME``, else ``.trackrun/`` at the git root, else in cwd."""
    env = os.environ.get("TRACKRUN_HOME")
    if env:
        return Path(env).expanduser().resolve()
    here = (cwd or Path.cwd()).resolve()
    return (find_git_root(here) or here) / ".trackrun"


def git_toplevel(cwd: Path) -> Path | None:
    """Ask git for the work tree root (handles worktrees and submodules); None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 else None


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for appending bytes, created readable by the user only (0600)."""
    return os.fdopen(
        os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab", buffering=0
    )
