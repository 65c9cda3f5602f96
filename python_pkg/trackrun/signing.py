"""The store's private key and the HMAC signatures of the pickles trackrun writes and loads.

Unpickling runs code, so a pickle is loaded only when it carries a valid signature made
with this store's key (``<store>/key``, 0600). The signature sits next to the pickle in
``<file>.sig`` (or where the caller says): the key's public fingerprint and the HMAC-SHA256
of the bytes. A pickle signed by another store (a copied run folder) is told apart from one
changed after signing. Layer 1 (standard library only): jobs and checkpoints both use it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from trackrun.errors import TrackrunError

KEY_FILE = "key"


class UntrustedPickleError(TrackrunError):
    """A pickle has no valid signature of this store: it is not unpickled."""


def store_key(store_root: Path) -> bytes:
    """This store's private key, created (32 random bytes, mode 0600) on first use."""
    path = store_root / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    store_root.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


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
    user vouched for the file). Raises FileNotFoundError when the file is missing and
    UntrustedPickleError when the signature is missing, from another store, or wrong.
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
