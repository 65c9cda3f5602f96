"""One run's lifecycle: creating its directory, logging through its event writer, finishing it."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from trackrun import liveness
from trackrun.checkpoints import (
    DEFAULT_KEEP_CHECKPOINTS,
    Checkpoint,
    load_latest_checkpoint,
    save_checkpoint,
)
from trackrun.event_writer import EventWriter
from trackrun.ids import new_run_name
from trackrun.layout import (
    FORMAT_VERSION,
    TERMINAL_STATUSES,
    RunPaths,
    StorePaths,
    create_private_file,
    is_group_shared,
    make_dir,
    write_json_atomic,
)
from trackrun.redaction import redact_params, redact_text, redact_tree
from trackrun.run_process import ActiveRuns, exit_status, process_identity
from trackrun.values import (
    MAX_EXACT_INT,
    MAX_STEP,
    check_file_name,
    check_note,
    check_run_name,
    check_step,
    normalize_metrics,
    normalize_params,
    normalize_tags,
)

if TYPE_CHECKING:
    from trackrun.media import MediaLog

#: Seconds finish() keeps retrying a store that cannot be written before it reports a loss.
FINISH_RETRY_S = float(os.environ.get("TRACKRUN_FINISH_RETRY_S", "5"))
#: Metric names already validated per run, at most this many (beyond, names are re-checked).
_MAX_KNOWN_KEYS = 100_000
_EXACT = MAX_EXACT_INT
#: The runs this process is logging to; the API's current run is the innermost.
_active_runs: ActiveRuns[Run] = ActiveRuns()


class Run:
    """A live run that this process writes to. Use as a context manager or call ``finish()``."""

    def __init__(self, paths: RunPaths, store_root: Path, name: str, writer: EventWriter) -> None:
        self.paths = paths
        self.store_root = store_root
        self.name = name
        self._writer = writer
        self._finished = False
        self._lock = threading.Lock()
        #: The copy of a script's stdout/stderr into output.log (codecapture), if any.
        self._output_copy: Any = None
        self._known_keys: set[str] = set()
        self._progress = liveness.ProgressMonitor(threading.main_thread())
        writer.heartbeat_fields = self._heartbeat_fields
        #: Records the writer had to drop (memory full while the store was not writable).
        self.dropped_records = 0
        self._media: MediaLog | None = None

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
        reproduces: str | None = None,
    ) -> Run:
        """Create ``<store_root>/runs/<id>/`` with its run.json and open it for logging.

        ``provenance`` defaults to a fresh capture (git, packages, hardware...). ``status``
        is "running" for a run this process executes, "queued" for a frozen detached job.
        ``reproduces``: the id of the run this one re-runs (``trackrun reproduce``).
        Raises TypeError for params that cannot be stored, InvalidTextError (a ValueError) for
        a name or note that cannot be (see values.check_run_name and check_note).
        """
        # Every check before the run folder exists: bad input leaves no half-made run behind.
        run_name = check_run_name(name) if name else new_run_name()
        run_note = (check_note(note) or None) if note else None
        clean_params = redact_params(normalize_params(params or {}))
        clean_tags = normalize_tags(tags or ())
        store = StorePaths(store_root).ensure()
        if run_id is None:
            paths = store.new_run()
            run_id = paths.run_id
        else:
            paths = store.run(run_id)
            make_dir(paths.root, private=not is_group_shared(store.runs))
        if provenance is None:
            from trackrun.capture import capture_provenance

            provenance = capture_provenance()
        record = {
            "format_version": FORMAT_VERSION,
            "run_id": run_id,
            "name": run_name,
            "created_at": time.time(),
            "notebook": notebook,
            "cell_id": cell_id,
            "note": run_note,
            "params": clean_params,
            "tags": clean_tags,
            "provenance": dict(provenance),
            "launch": dict(launch or {}),
        }
        if reproduces:
            record["reproduces"] = reproduces
        from trackrun.codecapture import capture_code  # the script or cell, when no magic did

        code = capture_code(paths, record, status)
        write_json_atomic(paths.run_json, redact_tree(record))
        run = cls(paths, store_root, str(record["name"]), EventWriter(paths.events))
        run._output_copy = code
        code.tee()
        run._writer.emit("status", status=status, **process_identity())
        run._writer.flush()
        if status == "running":
            _active_runs.push(run)
        return run

    @classmethod
    def attach(cls, run_dir: Path) -> Run:
        """Open an existing run directory to keep logging into it (e.g. a detached job)."""
        paths = RunPaths(run_dir)
        record = json.loads(paths.run_json.read_text())
        run = cls(paths, run_dir.parent.parent, record["name"], EventWriter(paths.events))
        _active_runs.push(run)
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
        infinities are kept. Names must be non-empty strings without NUL; steps integers in
        [0, 2**63). Raises TypeError or ValueError naming the key, and logs nothing of the
        call. An integer beyond 2**53 is kept with a warning (a double loses its last digits).
        """
        # The hot path (plain floats and small ints under names seen before) costs one C-level
        # subset check and one type check per value; anything else is validated in full.
        known = self._known_keys
        if known.issuperset(values):
            for value in values.values():
                kind = type(value)
                if kind is float or (kind is int and -_EXACT <= value <= _EXACT):
                    continue
                values = normalize_metrics(values)
                break
            else:
                values = dict(values)
        else:
            values = normalize_metrics(values)
            if len(known) < _MAX_KNOWN_KEYS:
                known.update(values)
        if step is not None and (type(step) is not int or not 0 <= step <= MAX_STEP):
            step = check_step(step)
        self._writer.log_metrics(values, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record (or overwrite) parameters; values must be JSON-like (numbers, str, lists...)."""
        self._writer.emit("params", values=redact_params(normalize_params(params)))

    def add_tags(self, tags: Iterable[str]) -> None:
        """Attach tags to the run."""
        self._writer.emit("tags", add=normalize_tags(tags))

    def artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Path:
        """Copy the file ``path`` into the run's artifacts/ as ``name`` (default: its file name).

        Records size and sha256; returns the stored path. Raises FileNotFoundError or
        ValueError for a name that is not a plain file name.
        """
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"trackrun.artifact: {source} is not a file")
        target_name = check_file_name(name or source.name, "artifact name")
        make_dir(self.paths.artifacts, private=not is_group_shared(self.dir), exist_ok=True)
        target = self.paths.artifacts / target_name
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as src, create_private_file(target) as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        self._writer.emit("artifact", name=target_name, size=size, sha256=digest.hexdigest())
        return target

    def log_image(self, key: str, image: Any, step: int | None = None) -> Path:
        """Store ``image`` as ``media/KEY/STEP.png`` and record it; returns the PNG's path.

        ``image``: a PIL image, a numpy array or torch tensor (HW, HWC or CHW; uint8, or
        floats in [0, 1]), a matplotlib figure, or PNG bytes. ``step`` defaults to the key's
        next one. Raises TypeError or ValueError naming the fix; nothing is written then.
        """
        return self._media_log().log(key, image, step)

    def log_figure(self, key: str, figure: Any, step: int | None = None) -> Path:
        """``log_image`` of a matplotlib figure that also keeps its SVG when it is small."""
        return self._media_log().log(key, figure, step, keep_svg=True)

    def _media_log(self) -> MediaLog:
        if self._media is None:
            from trackrun.media import MediaLog

            self._media = MediaLog(self.paths, self._writer.emit)
        return self._media

    def checkpoint(self, obj: Any, step: int, keep: int = DEFAULT_KEEP_CHECKPOINTS) -> Path:
        """Save ``obj`` as the checkpoint of ``step`` and keep only the newest ``keep``
        (see ``checkpoints.save_checkpoint``); the run records it as an event."""
        target = save_checkpoint(self.paths, obj, check_step(step), keep)
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
    def finish(
        self, status: str = "finished", error: str | None = None, exit_code: int | None = None
    ) -> int:
        """End the run with ``status`` (finished, failed or killed); later calls do nothing.

        ``exit_code`` records how the process ended (e.g. 3 for ``SystemExit(3)``). Returns
        the number of records that could not be written (0 when nothing was lost) and says
        so on stderr; the final status event records it as ``dropped_records``. Raises
        ValueError for an unknown status.
        """
        if status not in TERMINAL_STATUSES:
            raise ValueError(
                f"trackrun.finish: status must be one of {sorted(TERMINAL_STATUSES)}, "
                f"not {status!r}"
            )
        with self._lock:
            if self._finished:
                return self.dropped_records
            self._finished = True
        self._writer.flush()  # so the count below includes drops of this last batch
        fields: dict[str, Any] = {"status": status, "dropped_records": self._writer.dropped_records}
        if error:
            fields["error"] = redact_text(error)
        if exit_code is not None:
            fields["exit_code"] = exit_code
        self._writer.emit("status", **fields)
        written = self._writer.close(retry_for=FINISH_RETRY_S)
        self._stop_output_copy()
        self.dropped_records = self._writer.dropped_records
        lost = self.dropped_records + (0 if written else self._writer.held_records)
        if lost:
            print(
                f"trackrun: run {self.run_id} ended with {lost:,} records not written "
                f"({self.dropped_records:,} dropped while the store was not writable"
                + ("" if written else "; the rest is still being retried")
                + ")",
                file=sys.stderr,
            )
        _active_runs.drop(self)
        return lost

    def release(self) -> None:
        """Flush and stop logging from this process without ending the run (a detached job
        hands the final status to its supervisor)."""
        self._writer.close()
        self._stop_output_copy()
        _active_runs.drop(self)

    def _stop_output_copy(self) -> None:
        if self._output_copy is not None:
            self._output_copy.stop()

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
        elif issubclass(exc_type, SystemExit):
            code = exit_status(exc)
            if code == 0:
                self.finish("finished", exit_code=0)
            else:
                self.finish("failed", error=f"SystemExit({code})", exit_code=code)
        else:
            self.finish("failed", error="".join(traceback.format_exception(exc_type, exc, tb)))

    def _heartbeat_fields(self) -> dict[str, Any]:
        """Extra heartbeat fields: ``stalled_for``, seconds the main thread made no progress
        since the last log call or output line."""
        activity = max(self._writer.last_metric_time, liveness.last_output_time())
        return {"stalled_for": self._progress.stalled_for(activity)}


def active_run() -> Run | None:
    """The innermost run this process is logging to, or None."""
    return _active_runs.innermost()
