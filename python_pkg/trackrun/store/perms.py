"""Who may read what the store module writes: private (0700 folders, 0600 files) unless shared.

The index holds run names, params, metrics, errors and notebook paths, so a new store is
private to its user. A store folder that the user made group-shared (setgid, or writable by
its group) stays shared: then the files and folders made here give the group the same access
(0660 and 0770). Sharing a store with a team is therefore::

    mkdir .trackrun && chgrp team .trackrun && chmod 2770 .trackrun
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
SHARED_FILE, SHARED_DIR = 0o660, 0o770


def is_shared(root: Path) -> bool:
    """True when the store folder ``root`` is group-shared (setgid bit or group-writable)."""
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        return False
    return bool(mode & (stat.S_ISGID | stat.S_IWGRP))


def file_mode(root: Path) -> int:
    """The mode of a file the store creates under ``root``."""
    return SHARED_FILE if is_shared(root) else PRIVATE_FILE


def dir_mode(root: Path) -> int:
    """The mode of a folder the store creates under ``root``."""
    return SHARED_DIR if is_shared(root) else PRIVATE_DIR


def ensure_root(root: Path) -> None:
    """Create the store folder, private, if it does not exist (its parents as the user's
    umask makes them: they are the user's own folders, not the store's)."""
    if root.is_dir():
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, PRIVATE_DIR)
        restrict(root, PRIVATE_DIR)


def make_dir(path: Path, root: Path) -> None:
    """Create ``path`` (one level) with the store's folder mode, if missing."""
    if path.is_dir():
        return
    mode = dir_mode(root)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
        restrict(path, mode)


def restrict(path: Path | str, mode: int) -> None:
    """Give ``path`` exactly the permission bits ``mode`` (the setgid bit of a folder kept);
    quietly nothing when it is missing or owned by someone else (a shared store)."""
    try:
        current = os.stat(path).st_mode
        wanted = mode | (current & stat.S_ISGID if stat.S_ISDIR(current) else 0)
        if stat.S_IMODE(current) != wanted:
            os.chmod(path, wanted)
    except (FileNotFoundError, PermissionError):
        return
