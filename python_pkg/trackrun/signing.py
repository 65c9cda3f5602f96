"""The store's private key and the HMAC signatures of the pickles trackrun writes and loads.

Unpickling runs code, so a pickle is loaded only when it carries a valid signature made
with this store's key (``<store>/key``: 0600, or 0640 in a store shared with a group, whose
members all sign and verify with it). The signature sits next to the pickle in
``<file>.sig`` (or where the caller says): the key's public fingerprint and the HMAC-SHA256
of the bytes. A pickle signed by another store (a copied run folder) is told apart from one
changed after signing. Layer 1 (standard library only): jobs and checkpoints both use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path

from trackrun.errors import StoreError, TrackrunError
from trackrun.layout import is_group_shared, make_dir

KEY_FILE = "key"
PRIVATE_KEY_MODE, SHARED_KEY_MODE = 0o600, 0o640


class UntrustedPickleError(TrackrunError):
    """A pickle has no valid signature of this store: it is not unpickled."""


class StoreKeyError(StoreError):
    """The store's key cannot be read or created: nothing can be signed or verified."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message says what to do.
        return [f"{type(self).__name__}: {self}"]


def key_mode(store_root: Path) -> int:
    """The key's mode in ``store_root``: 0600, or 0640 when the store is group-shared (its
    members sign and verify with it; none needs to rewrite it)."""
    return SHARED_KEY_MODE if is_group_shared(store_root) else PRIVATE_KEY_MODE


def store_key(store_root: Path) -> bytes:
    """This store's key: 32 random bytes, created on first use with :func:`key_mode`.

    In a group-shared store, a key of the user's own that only they can read (made before
    the store was shared) is made group-readable. Raises StoreKeyError, naming the file and
    the fix, when the key cannot be read or created.
    """
    path = store_root / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return _create_key(store_root, path)
    except PermissionError as error:
        raise StoreKeyError(_unreadable_key(store_root, path, error)) from None
    if is_group_shared(store_root):
        _let_group_read(path)
    return key


def _create_key(store_root: Path, path: Path) -> bytes:
    key = secrets.token_bytes(32)
    mode = key_mode(store_root)
    try:
        if not store_root.is_dir():  # a new store is private, as StorePaths.ensure makes it
            store_root.parent.mkdir(parents=True, exist_ok=True)
            make_dir(store_root, private=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # another process created it first: use theirs
        return store_key(store_root)
    except PermissionError as error:
        raise StoreKeyError(
            f"cannot create this store's key {path} ({error.strerror}): it signs the pickles "
            "of detached runs and checkpoints. Use a store you can write to (TRACKRUN_HOME "
            "or --store), or ask the store's owner to give you write access."
        ) from None
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)  # the umask must not take the group's read access away
        f.write(key)
    return key


def _let_group_read(path: Path) -> None:
    """Make the user's own key readable by the store's group, if it is not yet."""
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_uid == os.geteuid() and not info.st_mode & stat.S_IRGRP:
            os.chmod(path, SHARED_KEY_MODE)


def _unreadable_key(store_root: Path, path: Path, error: OSError) -> str:
    """What to say when the key exists but this user cannot read it."""
    problem = (
        f"cannot read this store's key {path} ({error.strerror}): it signs the pickles of "
        "detached runs and checkpoints, so neither can be made or loaded."
    )
    try:
        info = path.stat()
    except OSError:
        return f"{problem} Check the permissions of {store_root}."
    owner = _user_name(info.st_uid)
    if is_group_shared(store_root):
        return (
            f"{problem} The store is shared with a group, but the key is readable by its "
            f"owner ({owner}) only (mode {stat.S_IMODE(info.st_mode):04o}). Its owner, or an "
            f"administrator, can fix it for everyone with: chmod g+r {path} (and chgrp it "
            "to the store's group); see 'Sharing a store with a team' in docs/guide.md."
        )
    return (
        f"{problem} The store is private to {owner}: use a store of your own (TRACKRUN_HOME "
        "or --store), or ask them to share it with your group (see 'Sharing a store with "
        "a team' in docs/guide.md)."
    )


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"trackrun-key-id:" + key).hexdigest()[:16]


def _signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def sign_file(path: Path, store_root: Path, signature: Path | None = None) -> None:
    """Sign the file at ``path`` with the store's key, into ``signature`` (default
    ``<path>.sig``)."""
    key = store_key(store_root)
    digest = hmac.new(key, path.read_bytes(), hashlib.sha256).hexdigest()
    record = json.dumps({"key": _fingerprint(key), "hmac": digest})
    target = signature or _signature_path(path)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(record)


def write_signed(path: Path, payload: bytes, store_root: Path) -> None:
    """Write ``payload`` to ``path`` (0600, atomically) and sign it."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(payload)
    os.replace(tmp, path)
    sign_file(path, store_root)


def read_verified(
    path: Path,
    store_root: Path,
    what: str,
    trust: bool = False,
    signature: Path | None = None,
) -> bytes:
    """The bytes of ``path`` once its signature (``signature``, default ``<path>.sig``)
    checks out with the store's key.

    ``what`` names the file in messages (e.g. "outputs"); ``trust`` skips the check (the
    user vouched for the file). Raises FileNotFoundError when the file is missing,
    UntrustedPickleError when the signature is missing, from another store, or wrong, and
    StoreKeyError when the store's key cannot be read.
    """
    data = path.read_bytes()
    if trust:
        return data
    key = store_key(store_root)
    try:
        record = json.loads((signature or _signature_path(path)).read_text())
        signer, digest = str(record["key"]), str(record["hmac"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        raise UntrustedPickleError(
            f"{what} ({path}) carry no valid signature of this store, so they are not "
            "loaded (unpickling runs code)"
        ) from None
    if signer != _fingerprint(key):
        raise UntrustedPickleError(f"{what} were written by another store")
    expected = hmac.new(key, data, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise UntrustedPickleError(
            f"{what} ({path}) were changed after this store wrote them; they are not loaded "
            "(unpickling runs code)"
        )
    return data
