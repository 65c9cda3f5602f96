"""Files of a run served over REST: opened safely (no symlink leads out), and log slices."""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path
from typing import BinaryIO

from trackrun.errors import TrackrunError
from trackrun.ids import check_run_id
from trackrun.layout import ACTIVE_STATUSES, RunPaths
from trackrun.server import schemas as s

MAX_LOG_BYTES = 4 * 1024 * 1024
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,200}$")
#: Folders of a run whose files the API serves.
SERVED_FOLDERS = ("code", "artifacts", "checkpoints")
# Every step of a served path is opened without following a symlink; a FIFO never blocks us.
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = _NOFOLLOW | getattr(os, "O_DIRECTORY", 0)


class FileNotInRunError(TrackrunError):
    """A requested file does not exist inside the run directory (or points outside it)."""

    code = "file_not_found"


def read_log_slice(log_path: Path, offset: int, max_bytes: int, status: s.RunStatus) -> s.LogChunk:
    """At most ``max_bytes`` (capped at MAX_LOG_BYTES) of the log at ``log_path`` from
    ``offset`` (negative: from the end), decoded as UTF-8 without splitting a character; the
    run's ``status`` says whether more may come. A missing log is an empty one."""
    max_bytes = max(1, min(max_bytes, MAX_LOG_BYTES))
    try:
        with open(log_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = size + offset if offset < 0 else offset
            start = max(0, min(start, size))
            f.seek(start)
            data = f.read(max_bytes)
    except FileNotFoundError:
        size, start, data = 0, 0, b""
    skipped = 0
    if offset < 0:
        # Started inside a character: skip its continuation bytes.
        while skipped < len(data) and skipped < 4 and data[skipped] & 0xC0 == 0x80:
            skipped += 1
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(data[skipped:], final=False)
    pending = len(decoder.getstate()[0])
    consumed = len(data) - pending
    return {
        "text": text,
        "offset": start + skipped,
        "next_offset": start + consumed,
        "size": size,
        "live": status in ACTIVE_STATUSES,
        "status": status,
    }


def open_in_run(runs: Path, run_id: str, folders: list[str], name: str) -> BinaryIO:
    """Open ``<runs>/<run_id>/<folders...>/<name>`` for reading (see RunsManager.open_run_file).

    Each folder and the name must be plain names; each step is opened relative to the one
    above without following symlinks. Raises FileNotInRunError for anything else.
    """
    check_run_id(run_id)
    where = "/".join(folders)
    refused = FileNotInRunError(f"no file {name!r} in this run's {where}/")
    if not all(_FILE_NAME.match(p) and ".." not in p for p in [*folders, name]):
        raise refused
    # The store folder itself may sit behind a symlink the user made; below it, nothing may.
    opened: list[int] = []
    try:
        opened.append(os.open(runs.resolve() / run_id, _DIRECTORY))
        for folder in folders:
            opened.append(os.open(folder, _DIRECTORY, dir_fd=opened[-1]))
        fd = os.open(name, _NOFOLLOW | os.O_NONBLOCK, dir_fd=opened[-1])
    except OSError:
        raise refused from None
    finally:
        for parent in opened:
            os.close(parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refused
    return os.fdopen(fd, "rb")


def served_names(paths: RunPaths, folder: str) -> list[str]:
    """Names of the regular files open_run_file would serve from ``folder`` (sorted)."""
    base = paths.root / folder
    if paths.root.is_symlink() or base.is_symlink() or not base.is_dir():
        return []
    return sorted(
        p.name
        for p in base.iterdir()
        if _FILE_NAME.match(p.name) and ".." not in p.name and not p.is_symlink() and p.is_file()
    )
