"""Where things live: the store's folders and the files of one run directory, and the format version."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from trackrun.ids import check_run_id, new_run_id

#: Version of the run directory format, written into every run.json.
FORMAT_VERSION = 1

#: The store's change counter file (see StorePaths.change_log).
CHANGE_LOG_NAME = "changes.log"

#: Terminal statuses: a run in one of these never changes again.
TERMINAL_STATUSES = frozenset({"finished", "failed", "killed", "lost"})
#: Statuses of a run that may still change.
ACTIVE_STATUSES = frozenset({"queued", "running"})

# Every step below a base folder is opened without following a symlink; a FIFO never blocks.
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = _NOFOLLOW | getattr(os, "O_DIRECTORY", 0)


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

    def open_inside(self, *parts: str) -> BinaryIO:
        """Open the run's regular file ``<root>/<parts...>`` for reading bytes, with no
        symlink from ``runs/`` down (the run folder itself may not be one): see open_no_follow.
        Raises OSError (FileNotFoundError when missing) for anything else."""
        return open_no_follow(self.root.parent, [self.root.name, *parts])

    def read_json_inside(self, *parts: str) -> dict[str, Any]:
        """The JSON object in the run's file ``<root>/<parts...>``, opened as open_inside
        does; an empty dict when it is missing, behind a symlink, not JSON or not an object."""
        try:
            with self.open_inside(*parts) as f:
                value = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def event_files(self) -> list[Path]:
        """All event files present, ``events.jsonl`` first, then the others by name; a
        symlink is not an event file (what it points to is never indexed or shown)."""
        try:
            names = sorted(
                e.name
                for e in os.scandir(self.root)
                if e.name.startswith("events")
                and e.name.endswith(".jsonl")
                and e.is_file(follow_symlinks=False)
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

    @property
    def change_log(self) -> Path:
        """Grows by one byte after each flush of any run's event file: one stat tells a
        reader whether anything in the store changed."""
        return self.root / CHANGE_LOG_NAME

    def run(self, run_id: str) -> RunPaths:
        """Paths of the run ``run_id``; the id is validated so it can never escape ``runs/``."""
        return RunPaths(self.runs / check_run_id(run_id))

    def new_run(self, ids: Iterator[str] | None = None) -> RunPaths:
        """Create the folder of a new run with a fresh id; return its paths.

        Ids carry 24 random bits per second, so a store creating thousands of runs a
        second (a sweep, a benchmark) can draw one that is taken: the folder is created
        exclusively and another id drawn until one is free. ``ids`` replaces the id source
        (for tests). Raises OSError when the folder cannot be created.
        """
        self.ensure()
        private = not is_group_shared(self.runs)
        source = ids if ids is not None else (new_run_id() for _ in range(1000))
        for run_id in source:
            paths = self.run(run_id)
            try:
                make_dir(paths.root, private=private)
            except FileExistsError:
                continue
            return paths
        raise FileExistsError(f"no free run id in {self.runs}")

    def ensure(self) -> StorePaths:
        """Create the store folders if missing; return self.

        A new store is private to the user (0700). A store folder that already exists and is
        shared with a group (setgid or group-writable) keeps that: ``runs/`` gets the same
        group access. Raises OSError when a folder cannot be created.
        """
        # exist_ok: several processes may create a new store at the same moment.
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            make_dir(self.root, private=True, exist_ok=True)
        if not self.runs.is_dir():
            make_dir(self.runs, private=not is_group_shared(self.root), exist_ok=True)
        return self


def is_group_shared(folder: Path) -> bool:
    """True when ``folder`` was set up for a team: setgid or group-writable."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_ISGID | stat.S_IWGRP))


def make_dir(path: Path, *, private: bool = True, exist_ok: bool = False) -> None:
    """Create the folder ``path``: 0700, or 2770 (group-shared, setgid) with ``private=False``.

    The mode is set explicitly, so the umask cannot widen or narrow it. Raises
    FileExistsError (unless ``exist_ok``) and other OSErrors from mkdir.
    """
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if exist_ok:
            return
        raise
    if not private:
        os.chmod(path, 0o2770)


def file_mode_in(folder: Path) -> int:
    """The mode for a new file in ``folder``: 0600, or 0660 in a group-shared folder."""
    return 0o660 if is_group_shared(folder) else 0o600


def open_folder_no_follow(base: Path, parts: Sequence[str]) -> int:
    """A file descriptor of the folder ``base/<parts...>`` (the caller closes it).

    ``base`` is resolved first (a store may sit behind a symlink its user made); below it,
    each step is opened relative to the one above with O_NOFOLLOW, so no symlink on the way,
    and no swap of one mid-way, leads outside. Raises OSError: FileNotFoundError when a step
    is missing, ELOOP or ENOTDIR for a symlink or a file where a folder should be.
    """
    fd = os.open(base.resolve(), _DIRECTORY)
    try:
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise FileNotFoundError(f"not a plain name: {part!r}")
            inner = os.open(part, _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_no_follow(base: Path, parts: Sequence[str]) -> BinaryIO:
    """Open the regular file ``base/<parts...>`` for reading bytes, no symlink below ``base``.

    Each folder and the file are opened relative to the one above without following
    symlinks (see open_folder_no_follow); a FIFO does not block the open. This is how
    anything that shows a run's files to someone else (the REST API, code diffs) reads them.
    Raises OSError: FileNotFoundError when missing, ELOOP for a symlink, and an OSError
    naming the path when it is not a regular file.
    """
    *folders, name = parts
    if name in ("", ".", "..") or "/" in name:
        raise FileNotFoundError(f"not a plain name: {name!r}")
    parent = open_folder_no_follow(base, folders)
    try:
        fd = os.open(name, _NOFOLLOW | os.O_NONBLOCK, dir_fd=parent)
    finally:
        os.close(parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"not a regular file: {os.path.join(base, *parts)}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def change_log_of_event_file(path: Path) -> Path | None:
    """The store's change log for an event file ``<store>/runs/<id>/events*.jsonl``, else None."""
    runs = path.parent.parent
    if runs.name != "runs":
        return None
    return runs.parent / CHANGE_LOG_NAME


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


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for appending bytes, created readable by the user only (0600; 0660 in
    a group-shared folder)."""
    return os.fdopen(
        os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode_in(path.parent)),
        "ab",
        buffering=0,
    )


#: Bytes of output an OutputLog holds while its file cannot be written (beyond: dropped, counted).
MAX_HELD_OUTPUT = 16 * 2**20


class OutputLog(io.RawIOBase):
    """A run's ``output.log`` opened for appending bytes, that never fails its writer.

    What the file system refuses (a full disk, a file size limit) is held in memory and
    written, in order, before the next bytes, at ``flush()`` or at ``close()``: a warning
    printed while the disk is full reaches the log once space is back. Beyond
    ``MAX_HELD_OUTPUT`` held bytes, new output is dropped and counted in ``dropped_bytes``.
    Build it with ``OutputLog.open(path)`` (created 0600, or 0660 in a group-shared folder)
    or over a file descriptor it then owns (``OutputLog(fd)``). Thread-safe.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._held = bytearray()
        self._lock = threading.RLock()  # close() -> IOBase.close() -> flush()
        #: Bytes dropped because more than MAX_HELD_OUTPUT were held.
        self.dropped_bytes = 0

    @classmethod
    def open(cls, path: Path) -> OutputLog:
        """Open (create) ``path`` for appending, readable by the user only (see open_private)."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        return cls(os.open(path, flags, file_mode_in(path.parent)))

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        """Append ``data`` (bytes-like); returns its length, whether written now or held."""
        size = len(data)
        with self._lock:
            if self.closed:
                raise ValueError("write to a closed output log")
            if len(self._held) + size > MAX_HELD_OUTPUT:
                self.dropped_bytes += size
            else:
                self._held += data
            self._drain()
        return size

    def flush(self) -> None:
        """Write what is held, if the file takes it now (never raises for a refusal)."""
        with self._lock:
            if not self.closed:
                self._drain()

    @property
    def held_bytes(self) -> int:
        """Bytes waiting for the file system to take them."""
        return len(self._held)

    def _drain(self) -> None:
        held = self._held
        try:
            while held:
                del held[: os.write(self._fd, held)]
        except OSError:
            pass  # kept: retried with the next write, flush or close

    def close(self) -> None:
        """Write what is held (one last try), then close the file. Output that never
        reached it is said on ``sys.stderr`` (by then the cell's or the terminal's again)."""
        with self._lock:
            if self.closed:
                return
            self._drain()
            lost = self.dropped_bytes + len(self._held)
            os.close(self._fd)
            super().close()
        if lost:
            with contextlib.suppress(OSError, ValueError):  # no stream left to tell
                print(
                    f"trackrun: {lost:,} bytes of output never reached output.log", file=sys.stderr
                )


def create_private_file(path: Path) -> BinaryIO:
    """Create (or truncate) ``path`` for writing bytes: 0600, or 0660 in a group-shared folder."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return os.fdopen(os.open(path, flags, file_mode_in(path.parent)), "wb")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (a run.json, a job spec, a registration); an empty dict
    when the file is missing, unreadable, not JSON or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_json_atomic(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` as JSON to ``path`` via a temporary file and rename (never half-written).

    The file is private (0600; 0660 in a group-shared folder). Values JSON cannot hold are
    written as their ``str``; NaN and infinities raise ValueError. Raises OSError when the
    folder cannot be written. Strings are written as given: callers redact secrets first.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode_in(path.parent))
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1, default=str, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
