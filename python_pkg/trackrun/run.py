"""One run's lifecycle: creating its directory, logging through its event writer, finishing it."""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import pickle
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from trackrun import liveness
from trackrun.events import EventWriter, flush_all_writers
from trackrun.ids import new_run_id, new_run_name
from trackrun.layout import FORMAT_VERSION, TERMINAL_STATUSES, RunPaths, StorePaths
from trackrun.signing import read_verified, sign_file

#: Checkpoints kept per run by default (older ones are deleted).
DEFAULT_KEEP_CHECKPOINTS = 3
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ +=,@-]{0,200}$")
_active_runs: list[Run] = []
_sigterm_installed = False


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint: the ``step`` it was taken at, the loaded ``state``, and its ``path``."""

    step: int
    state: Any
    path: Path


class Run:
    """A live run that this process writes to. Use as a context manager or call ``finish()``."""

    def __init__(self, paths: RunPaths, store_root: Path, name: str, writer: EventWriter) -> None:
        self.paths = paths
        self.store_root = store_root
        self.name = name
        self._writer = writer
        self._finished = False
        self._lock = threading.Lock()

    # -- creation -------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        store_root: Path,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        notebook: str | None = None,
        cell_id: str | None = None,
        note: str | None = None,
        provenance: Mapping[str, Any] | None = None,
        launch: Mapping[str, Any] | None = None,
        status: str = "running",
        run_id: str | None = None,
    ) -> Run:
        """Create ``<store_root>/runs/<id>/`` with its run.json and open it for logging.

        ``provenance`` defaults to a fresh capture (git, packages, hardware...). ``status``
        is "running" for a run this process executes, "queued" for a frozen detached job.
        Raises TypeError for params that cannot be stored.
        """
        store = StorePaths(store_root).ensure()
        run_id = run_id or new_run_id()
        paths = store.run(run_id)
        paths.root.mkdir(mode=0o700)
        clean_params = normalize_params(params or {})
        clean_tags = normalize_tags(tags or ())
        if provenance is None:
            from trackrun.capture import capture_provenance

            provenance = capture_provenance()
        record = {
            "format_version": FORMAT_VERSION,
            "run_id": run_id,
            "name": name or new_run_name(),
            "created_at": time.time(),
            "notebook": notebook,
            "cell_id": cell_id,
            "note": note,
            "params": clean_params,
            "tags": clean_tags,
            "provenance": dict(provenance),
            "launch": dict(launch or {}),
        }
        write_json_atomic(paths.run_json, record)
        run = cls(paths, store_root, str(record["name"]), EventWriter(paths.events))
        run._writer.emit("status", status=status, **process_identity())
        run._writer.flush()
        if status == "running":
            _push_active(run)
        return run

    @classmethod
    def attach(cls, run_dir: Path) -> Run:
        """Open an existing run directory to keep logging into it (e.g. a detached job)."""
        paths = RunPaths(run_dir)
        record = json.loads(paths.run_json.read_text())
        run = cls(paths, run_dir.parent.parent, record["name"], EventWriter(paths.events))
        _push_active(run)
        return run

    # -- identity -------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.paths.run_id

    @property
    def dir(self) -> Path:
        return self.paths.root

    @property
    def finished(self) -> bool:
        return self._finished

    def __repr__(self) -> str:
        return f"<trackrun.Run {self.run_id} {self.name!r}>"

    # -- logging --------------------------------------------------------------------------
    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record metric ``values`` at ``step`` (None: each key's own counter, from 0).

        Values must be numbers: int, float, bool, numpy scalars or 0-d tensors; NaN and
        infinities are kept. Raises TypeError naming the key for anything else.
        """
        for value in values.values():
            kind = type(value)
            if kind is not float and kind is not int:
                values = normalize_metrics(values)
                break
        else:
            values = dict(values)
        if step is not None and type(step) is not int:
            step = _check_step(step)
        self._writer.log_metrics(values, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record (or overwrite) parameters; values must be JSON-like (numbers, str, lists...)."""
        self._writer.emit("params", values=normalize_params(params))

    def add_tags(self, tags: Iterable[str]) -> None:
        """Attach tags to the run."""
        self._writer.emit("tags", add=normalize_tags(tags))

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove tags from the run."""
        self._writer.emit("tags", remove=normalize_tags(tags))

    def emit(self, event_type: str, **fields: Any) -> None:
        """Append a raw event (used by trackrun's own modules, e.g. summaries from the magic)."""
        self._writer.emit(event_type, **fields)

    def artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Path:
        """Copy the file ``path`` into the run's artifacts/ as ``name`` (default: its file name).

        Records size and sha256; returns the stored path. Raises FileNotFoundError or
        ValueError for a name that is not a plain file name.
        """
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"trackrun.artifact: {source} is not a file")
        target_name = check_file_name(name or source.name, "artifact name")
        self.paths.artifacts.mkdir(exist_ok=True, mode=0o700)
        target = self.paths.artifacts / target_name
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        self._writer.emit("artifact", name=target_name, size=size, sha256=digest.hexdigest())
        return target

    def checkpoint(self, obj: Any, step: int, keep: int = DEFAULT_KEEP_CHECKPOINTS) -> Path:
        """Save ``obj`` as the checkpoint of ``step`` and keep only the newest ``keep``.

        Uses ``torch.save`` when torch is importable, else pickle. The file is written to a
        temporary name and renamed, so a crash never leaves a half checkpoint.
        """
        step = _check_step(step)
        folder = self.paths.checkpoints
        folder.mkdir(exist_ok=True, mode=0o700)
        torch = _torch_or_none()
        suffix = ".pt" if torch is not None else ".pkl"
        target = folder / f"step-{step:012d}{suffix}"
        tmp = folder / f".{target.name}.tmp"
        if torch is not None:
            torch.save(obj, tmp)
        else:
            with open(tmp, "wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
        # -- signed checkpoints (jobs helper; issue 17): loading verifies before unpickling --
        sign_file(target, self.paths.root.parent.parent, _checkpoint_signature(target))
        for old in list_checkpoints(self.paths)[: -max(keep, 1)]:
            old.unlink(missing_ok=True)
            _checkpoint_signature(old).unlink(missing_ok=True)
        self._writer.emit("checkpoint", step=step, file=target.name, size=target.stat().st_size)
        self._writer.flush()
        return target

    def latest_checkpoint(self) -> Checkpoint | None:
        """Load the newest checkpoint of this run, or None when there is none."""
        return load_latest_checkpoint(self.paths)

    def flush(self) -> None:
        """Write everything logged so far to disk now."""
        self._writer.flush()

    def logged_metric_keys(self) -> set[str]:
        """Keys of every metric logged so far in this process (flushes first)."""
        self._writer.flush()
        return self._writer.metric_keys

    # -- ending ---------------------------------------------------------------------------
    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """End the run with ``status`` (finished, failed or killed); later calls do nothing."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(
                f"trackrun.finish: status must be one of {sorted(TERMINAL_STATUSES)}, "
                f"not {status!r}"
            )
        with self._lock:
            if self._finished:
                return
            self._finished = True
        fields: dict[str, Any] = {"status": status}
        if error:
            fields["error"] = error
        self._writer.emit("status", **fields)
        self._writer.close()
        if self in _active_runs:
            _active_runs.remove(self)

    def release(self) -> None:
        """Flush and stop logging from this process without ending the run (a detached job
        hands the final status to its supervisor)."""
        self._writer.close()
        if self in _active_runs:
            _active_runs.remove(self)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("killed", error="KeyboardInterrupt")
        else:
            self.finish("failed", error="".join(traceback.format_exception(exc_type, exc, tb)))


# -- the active run of this process ---------------------------------------------------------
def active_run() -> Run | None:
    """The innermost run this process is logging to, or None."""
    return _active_runs[-1] if _active_runs else None


def _push_active(run: Run) -> None:
    _active_runs.append(run)
    _install_sigterm_handler()


def _install_sigterm_handler() -> None:
    """On SIGTERM, mark active runs killed and flush, then die as SIGTERM would have.

    Only installed from the main thread and only over the default handler, so a host
    program's own SIGTERM handling (Jupyter kernels, servers) is never replaced.
    """
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: object) -> None:
        for run in list(_active_runs):
            run.finish("killed", error="SIGTERM")
        flush_all_writers()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    _sigterm_installed = True


def process_identity() -> dict[str, Any]:
    """pid, process start token and host of this process, for liveness checks."""
    pid = os.getpid()
    return {"pid": pid, "proc_start": liveness.process_start_time(pid), "host": liveness.hostname()}


# -- validation -----------------------------------------------------------------------------
def normalize_metrics(values: Mapping[Any, Any]) -> dict[str, Any]:
    """Validate metric values; returns a new dict of floats/ints (or deferred 0-d tensors).

    Raises TypeError naming the key and type of the first bad value.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"trackrun.log: metric names must be non-empty strings, not {key!r}")
        out[key] = _metric_value(key, value)
    return out


def _metric_value(key: str, value: Any) -> Any:
    if isinstance(value, (bool, numbers.Real)):
        return float(value)
    ndim = getattr(value, "ndim", None)
    if ndim == 0 and hasattr(value, "item"):
        device = getattr(value, "device", None)
        if device is not None and getattr(device, "type", "cpu") != "cpu":
            # Defer .item() (a device sync) to the flusher thread; clone so later in-place
            # updates of the tensor do not change the logged value.
            return value.detach().clone()
        result = value.item()
        if isinstance(result, (bool, numbers.Real)):
            return float(result)
    raise TypeError(
        f"trackrun.log: metric {key!r} is a {type(value).__module__}.{type(value).__qualname__}"
        f"{_shape_hint(value)}; metrics must be numbers (int, float, numpy scalar or 0-d tensor)"
    )


def _shape_hint(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f" of shape {tuple(shape)} (use .mean() or .item())" if shape is not None else ""


def _check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"trackrun: step must be an int, not {type(step).__name__}")
    return int(step)


def normalize_params(params: Mapping[Any, Any]) -> dict[str, Any]:
    """Validate parameters: str keys, JSON-like values (numpy scalars become Python numbers).

    Raises TypeError naming the key and type of a value that cannot be stored faithfully.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"trackrun: parameter names must be non-empty strings, not {key!r}")
        out[key] = _json_like(value, key)
    return out


def _json_like(value: Any, key: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else str(number)
    if isinstance(value, (list, tuple)):
        return [_json_like(v, key) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_like(v, key) for k, v in value.items()}
    item = getattr(value, "item", None)
    if getattr(value, "ndim", None) == 0 and item is not None:
        return _json_like(item(), key)
    raise TypeError(
        f"trackrun: parameter {key!r} is a {type(value).__qualname__}; parameters must be "
        "numbers, strings, booleans, None or lists/dicts of those (log str(value) if you "
        "want its text)"
    )


def normalize_tags(tags: Iterable[str] | str) -> list[str]:
    """Validate tags: non-empty strings without newlines; a single string is one tag."""
    if isinstance(tags, str):
        tags = [tags]
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or "\n" in tag:
            raise TypeError(f"trackrun: tags must be non-empty one-line strings, not {tag!r}")
        out.append(tag.strip())
    return out


def check_file_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain file name (no folders, no leading dot), else ValueError."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"trackrun: {what} {name!r} must be a plain file name (letters, digits, . _ - + = , @)"
        )
    return name


# -- files ----------------------------------------------------------------------------------
def write_json_atomic(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` as JSON to ``path`` via a temporary file and rename (never half-written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1, default=str, allow_nan=False)
    os.replace(tmp, path)


def list_checkpoints(paths: RunPaths) -> list[Path]:
    """Checkpoint files of a run, oldest step first."""
    try:
        files = [p for p in paths.checkpoints.iterdir() if p.name.startswith("step-")]
    except FileNotFoundError:
        return []
    return sorted(files, key=lambda p: p.name)


def load_latest_checkpoint(paths: RunPaths) -> Checkpoint | None:
    """Load the newest checkpoint in ``paths`` (torch.load for .pt, pickle otherwise)."""
    files = list_checkpoints(paths)
    if not files:
        return None
    newest = files[-1]
    step = int(newest.name[5:17])
    # -- signed checkpoints (jobs helper; issue 17): raises UntrustedPickleError --
    read_verified(
        newest, paths.root.parent.parent, "checkpoint", signature=_checkpoint_signature(newest)
    )
    if newest.suffix == ".pt":
        import torch

        state = torch.load(newest, weights_only=False)
    else:
        with open(newest, "rb") as f:
            state = pickle.load(f)
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
