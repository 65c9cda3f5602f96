"""A run's checkpoints: saving them signed (torch.save or pickle), listing, loading the newest."""

from __future__ import annotations

import io
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrun.layout import RunPaths, create_private_file, is_group_shared, make_dir
from trackrun.signing import read_verified, sign_file

#: Checkpoints kept per run by default (older ones are deleted).
DEFAULT_KEEP_CHECKPOINTS = 3


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint: the ``step`` it was taken at, the loaded ``state``, and its ``path``."""

    step: int
    state: Any
    path: Path


def save_checkpoint(
    paths: RunPaths, obj: Any, step: int, keep: int = DEFAULT_KEEP_CHECKPOINTS
) -> Path:
    """Save ``obj`` as the checkpoint of ``step`` in the run ``paths``; keep the newest ``keep``.

    Uses ``torch.save`` when torch is importable, else pickle. The file is written to a
    temporary name and renamed, so a crash never leaves a half checkpoint, and signed with
    the store's key (loading verifies before unpickling). Returns the file's path.
    """
    folder = paths.checkpoints
    make_dir(folder, private=not is_group_shared(paths.root), exist_ok=True)
    torch = _torch_or_none()
    suffix = ".pt" if torch is not None else ".pkl"
    target = folder / f"step-{step:012d}{suffix}"
    tmp = folder / f".{target.name}.tmp"
    with create_private_file(tmp) as f:
        if torch is not None:
            torch.save(obj, f)
        else:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, target)
    sign_file(target, paths.root.parent.parent, _checkpoint_signature(target))
    for old in list_checkpoints(paths)[: -max(keep, 1)]:
        old.unlink(missing_ok=True)
        _checkpoint_signature(old).unlink(missing_ok=True)
    return target


def list_checkpoints(paths: RunPaths) -> list[Path]:
    """Checkpoint files of a run, oldest step first."""
    try:
        files = [p for p in paths.checkpoints.iterdir() if p.name.startswith("step-")]
    except FileNotFoundError:
        return []
    return sorted(files, key=lambda p: p.name)


def load_latest_checkpoint(paths: RunPaths) -> Checkpoint | None:
    """Load the newest checkpoint in ``paths`` (torch.load for .pt, pickle otherwise).

    The file is read once: the bytes whose signature was checked are the bytes unpickled
    (reading the file again could load a file swapped in meanwhile). Raises
    UntrustedPickleError (nothing unpickled) when its signature is not this store's.
    """
    files = list_checkpoints(paths)
    if not files:
        return None
    newest = files[-1]
    step = int(newest.name[5:17])
    data = read_verified(
        newest, paths.root.parent.parent, "checkpoint", signature=_checkpoint_signature(newest)
    )
    if newest.suffix == ".pt":
        import torch

        state = torch.load(io.BytesIO(data), weights_only=False)
    else:
        state = pickle.loads(data)
    return Checkpoint(step=step, state=state, path=newest)


def _checkpoint_signature(checkpoint: Path) -> Path:
    """Where a checkpoint's signature lives (outside ``checkpoints/``, whose listing stays
    the checkpoints alone)."""
    return checkpoint.parent.parent / "signatures" / f"{checkpoint.name}.sig"


def _torch_or_none() -> Any:
    if "torch" in sys.modules:
        return sys.modules["torch"]
    try:
        import torch
    except ImportError:
        return None
    return torch
