"""Notebooks renamed or moved after runs named them: the store's record of moves, and how a
path the kernel still holds (set when the kernel started) is followed to where it is now.

``<store>/notebook-moves.jsonl`` holds one ``{"from": OLD, "to": NEW, "time": T}`` line per
rename the Jupyter server's contents manager reported (absolute paths; a folder's move covers
the notebooks under it). Appends are single ``O_APPEND`` writes, so concurrent writers never
interleave.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from trackrun.layout import file_mode_in

MOVES_FILE = "notebook-moves.jsonl"


def record_move(store_root: Path, old: Path, new: Path) -> None:
    """Append the move of ``old`` to ``new`` (absolute paths) to the store's record.
    Raises OSError when the store cannot be written."""
    line = json.dumps({"from": str(old), "to": str(new), "time": time.time()}) + "\n"
    fd = os.open(
        store_root / MOVES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode_in(store_root)
    )
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def moved_path(path: Path, old: Path, new: Path) -> Path | None:
    """Where ``path`` is after ``old`` moved to ``new`` (``path`` itself, or a notebook under
    the folder ``old``); None when that move does not concern it."""
    if path == old:
        return new
    try:
        return new / path.relative_to(old)
    except ValueError:
        return None


def follow_moves(store_root: Path, path: Path) -> Path:
    """``path`` after every recorded move, in order (``path`` unchanged when none applies;
    an unreadable or damaged record is read as far as it goes)."""
    try:
        text = (store_root / MOVES_FILE).read_text(encoding="utf-8")
    except OSError:
        return path
    for line in text.splitlines():
        try:
            move = json.loads(line)
            old, new = Path(move["from"]), Path(move["to"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line, or one that is not ours
        path = moved_path(path, old, new) or path
    return path
