"""Files of a run served over REST: opened safely (no symlink leads out), and log slices."""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import BinaryIO

from trackrun.errors import TrackrunError
from trackrun.ids import check_run_id
from trackrun.layout import ACTIVE_STATUSES, RunPaths, open_folder_no_follow, open_no_follow
from trackrun.server import schemas as s

MAX_LOG_BYTES = 4 * 1024 * 1024
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,200}$")
#: Folders of a run whose files the API serves.
SERVED_FOLDERS = ("code", "artifacts", "checkpoints")


class FileNotInRunError(TrackrunError):
    """A requested file does not exist inside the run directory (or points outside it)."""

    code = "file_not_found"


def read_log_slice(run: RunPaths, offset: int, max_bytes: int, status: s.RunStatus) -> s.LogChunk:
    """At most ``max_bytes`` (capped at MAX_LOG_BYTES) of the run's ``output.log`` from
    ``offset`` (negative: from the end), decoded as UTF-8 without splitting a character; the
    run's ``status`` says whether more may come. A missing log is an empty one, and so is a
    log with a symlink on the way (the run folder or output.log itself): it is never followed.
    """
    max_bytes = max(1, min(max_bytes, MAX_LOG_BYTES))
    try:
        with run.open_inside(run.output_log.name) as f:
            size = os.fstat(f.fileno()).st_size
            start = size + offset if offset < 0 else offset
            start = max(0, min(start, size))
            f.seek(start)
            data = f.read(max_bytes)
    except OSError:
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
    try:
        return open_no_follow(runs, [run_id, *folders, name])
    except OSError:
        raise refused from None


def served_names(paths: RunPaths, folder: str) -> list[str]:
    """Names of the regular files open_run_file would serve from ``folder`` (sorted); none
    when the run folder or ``folder`` is a symlink or missing."""
    try:
        fd = open_folder_no_follow(paths.root.parent, [paths.root.name, folder])
    except OSError:
        return []
    try:
        with os.scandir(fd) as entries:
            return sorted(
                e.name
                for e in entries
                if _FILE_NAME.match(e.name)
                and ".." not in e.name
                and e.is_file(follow_symlinks=False)
            )
    finally:
        os.close(fd)
