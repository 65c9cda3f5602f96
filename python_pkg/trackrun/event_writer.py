"""The buffered event writer a run logs through: an append to memory, a background thread that writes.

``log()`` costs an append to a deque; a daemon thread formats JSON lines and appends them to
the event file. Whatever the file system does, the thread never dies and never drops what it
holds without counting it (see EventWriter).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackrun.events import (
    ENCODE_EVENT,
    change_log_of,
    last_seq_and_terminate,
    touch_change_log,
)
from trackrun.layout import file_mode_in
from trackrun.metric_lines import MetricLines
from trackrun.redaction import redact_tree

#: Seconds between background flushes; a SIGKILL loses at most this much.
DEFAULT_FLUSH_INTERVAL = float(os.environ.get("TRACKRUN_FLUSH_INTERVAL", "0.5"))
#: Seconds of silence after which the flusher writes a heartbeat line.
HEARTBEAT_INTERVAL = float(os.environ.get("TRACKRUN_HEARTBEAT_INTERVAL", "5"))
#: Bytes of records a writer holds while the file cannot be written, before dropping metrics.
MAX_BUFFER_BYTES = int(os.environ.get("TRACKRUN_MAX_BUFFER_BYTES", str(256 * 2**20)))
#: Longest wait (seconds) between two retries of a failing write.
MAX_RETRY_INTERVAL = 5.0
#: How many bytes one os.write call is given.
_WRITE_CHUNK = 1 << 24
#: Seconds the exit handler keeps retrying writers that cannot write.
EXIT_RETRY_S = float(os.environ.get("TRACKRUN_EXIT_RETRY_S", "10"))
_open_writers: weakref.WeakSet[EventWriter] = weakref.WeakSet()


class EventWriter:
    """Buffered, append-only writer of one event file.

    ``log_metrics`` only appends to an in-memory deque (the hot path: no I/O, no JSON); a
    daemon thread serializes and appends pending events every ``flush_interval`` seconds
    with a single ``write``; ``flush()`` does the same synchronously, and every open writer
    is flushed at interpreter exit. Lines are only ever appended whole, so a reader never
    ingests a half-written line (it stops at the last newline).

    The flusher never dies and never drops what it holds: when a write fails (disk full, a
    read-only folder...) the formatted bytes stay in memory and are retried with backoff,
    heartbeats go on queueing behind them (written with them, in order, once the file takes
    bytes again), and one warning per kind of error goes to stderr (which the run copies
    into the cell and output.log). Only when more than ``max_buffer_bytes``
    are held are new metric records dropped, and counted (``dropped_records``).
    """

    def __init__(
        self,
        path: Path,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL,
        max_buffer_bytes: int = MAX_BUFFER_BYTES,
    ) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode_in(path.parent))
        self._seq = last_seq_and_terminate(path, self._fd)
        self._pending: collections.deque[tuple[Any, ...]] = collections.deque()
        self._lines = MetricLines()
        self._flush_lock = threading.Lock()
        self._closed = False  # no more events accepted; the fd may stay open to drain
        self._fd_closed = False
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._max_buffer = max_buffer_bytes
        self._unwritten = bytearray()  # formatted lines a failed write left behind
        self._retry_at = 0.0
        self._backoff = flush_interval
        self._warned: set[str] = set()
        self._failing: str | None = None
        self._dropped = 0
        self._last_write = time.time()
        self._last_heartbeat = 0.0
        #: When the newest metric record that reached the flusher was logged.
        self.last_metric_time = time.time()
        self._change_log = change_log_of(path)
        self._wake = threading.Event()
        #: Optional callable giving extra fields for heartbeats (e.g. ``stalled_for``).
        self.heartbeat_fields: Callable[[], Mapping[str, Any]] | None = None
        self._thread = threading.Thread(
            target=self._flush_loop, name=f"trackrun-flush-{path.parent.name}", daemon=True
        )
        self._thread.start()
        _open_writers.add(self)

    # -- hot path -------------------------------------------------------------------------
    def log_metrics(self, values: Mapping[str, Any], step: int | None) -> None:
        """Queue metric values (already validated) for ``step`` (None: per-key counter)."""
        self._pending.append((time.time(), step, values))

    def emit(self, event_type: str, **fields: Any) -> None:
        """Queue a non-metric event (status, params, tags, artifact...) with JSON-able fields.

        Its strings are redacted (secret values of the environment) when it is written.
        """
        self._pending.append((time.time(), event_type, fields))

    # -- flushing -------------------------------------------------------------------------
    def flush(self) -> bool:
        """Write every queued event now; True when all of it reached the file.

        Never raises for a failing file system: what could not be written stays held (see
        ``held_records``) and the background thread keeps retrying.
        """
        with self._flush_lock:
            return self._write_pending(force=True)

    def close(self, retry_for: float = 0.0) -> bool:
        """Flush and stop accepting events; True when everything reached the file.

        When the file cannot be written, keeps retrying for up to ``retry_for`` seconds;
        after that the background thread goes on retrying until the process exits.
        """
        deadline = time.monotonic() + retry_for
        with self._flush_lock:
            if self._closed and self._fd_closed:
                return True
            self._closed = True
            done = self._write_pending(force=True)
        while not done and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            with self._flush_lock:
                done = self._write_pending(force=True)
        if done:
            with self._flush_lock:
                self._close_fd()
            self._wake.set()
            _open_writers.discard(self)
        return done

    def abandon(self) -> int:
        """Stop writing for good: what is still held is dropped and counted; returns how many."""
        with self._flush_lock:
            self._closed = True
            lost = self.held_records + len(self._pending)
            self._dropped += lost
            self._unwritten.clear()
            self._pending.clear()
            self._close_fd()
        self._wake.set()
        _open_writers.discard(self)
        return lost

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped_records(self) -> int:
        """Records dropped because more than ``max_buffer_bytes`` were held unwritten."""
        return self._dropped

    @property
    def held_records(self) -> int:
        """Records formatted but not yet written (a failing file system holds them here)."""
        return self._unwritten.count(b"\n")

    @property
    def metric_keys(self) -> set[str]:
        """Keys of the metrics written so far (after a flush, every key logged)."""
        return set(self._lines.step_counters)

    def _close_fd(self) -> None:
        if not self._fd_closed:
            self._fd_closed = True
            os.close(self._fd)

    def _flush_loop(self) -> None:
        # Whatever happens in one round (a file system error, a value that will not
        # encode), the loop goes on: a dead flusher would lose every later record.
        while not self._fd_closed:
            self._wake.wait(self._flush_interval)
            try:
                with self._flush_lock:
                    if self._fd_closed:
                        return
                    if self._closed:  # close() could not write everything: keep trying
                        if self._write_pending():
                            self._close_fd()
                            _open_writers.discard(self)
                        continue
                    # Heartbeats go on while records are held (a full disk): each is queued
                    # behind them and reaches the file with them, in order, once it can.
                    now = time.time()
                    if (
                        not self._pending
                        and self._heartbeat_interval is not None
                        and now - max(self._last_write, self._last_heartbeat)
                        >= self._heartbeat_interval
                    ):
                        self._last_heartbeat = now
                        self._pending.append((now, "heartbeat", self._heartbeat()))
                    self._write_pending()
            except Exception as error:  # noqa: BLE001 - the flusher must survive anything
                self._warn_once(
                    f"loop:{type(error).__name__}", f"trackrun: flusher error {error!r}"
                )

    def _heartbeat(self) -> dict[str, Any]:
        extra = self.heartbeat_fields
        if extra is None:
            return {}
        try:
            return dict(extra())
        except Exception:  # noqa: BLE001 - a heartbeat without extras beats none
            return {}

    def _write_pending(self, force: bool = False) -> bool:
        """Format what is queued, then write everything held; True when all is written."""
        if self._fd_closed:
            return not self._pending
        if self._pending:
            self._format_pending()
        if not self._unwritten:
            return True
        if not force and time.monotonic() < self._retry_at:
            return False
        return self._drain()

    def _format_pending(self) -> None:
        items = []
        pending = self._pending
        while pending:
            try:
                items.append(pending.popleft())
            except IndexError:
                break
        # A failed bulk conversion leaves the tensors for the one-by-one path below. Without
        # torch imported there is no tensor to convert (numpy scalars convert one by one).
        if "torch" in sys.modules:
            with contextlib.suppress(Exception):
                _resolve_deferred(items)
        lines: list[str] = []
        over = len(self._unwritten) > self._max_buffer
        for when, second, payload in items:
            try:
                if isinstance(second, str):
                    record = {"seq": self._seq + 1, "type": second, "time": when, **payload}
                    lines.append(ENCODE_EVENT(redact_tree(record)))
                    self._seq += 1
                else:
                    self.last_metric_time = when
                    if over:
                        self._dropped += 1  # memory forces it: metrics go, status events stay
                    else:
                        self._seq = self._lines.append(self._seq, when, second, payload, lines)
            except Exception as error:  # noqa: BLE001 - one bad record never stops the rest
                self._dropped += 1
                self._warn_once(
                    f"encode:{type(error).__name__}",
                    f"trackrun: a record for {self.path} could not be encoded and was dropped "
                    f"({type(error).__name__}: {error})",
                )
        if over:
            self._warn_once(
                "buffer-full",
                f"trackrun: more than {self._max_buffer // 2**20} MB of records are waiting to "
                f"be written to {self.path}; new metric records are dropped and counted "
                f"({self._dropped:,} so far)",
            )
        if lines:
            self._unwritten += ("\n".join(lines) + "\n").encode()

    def _drain(self) -> bool:
        buf = self._unwritten
        done = 0
        failure: OSError | None = None
        try:
            with memoryview(buf) as view:
                while done < len(buf):
                    done += os.write(self._fd, view[done : done + _WRITE_CHUNK])
        except OSError as error:
            failure = error
        del buf[:done]
        if failure is not None:
            self._on_write_error(failure)
            return False
        self._last_write = time.time()
        self._backoff = self._flush_interval
        self._retry_at = 0.0
        if self._failing is not None:
            self._failing = None
            print(f"trackrun: writing to {self.path} again; held records written", file=sys.stderr)
        if done:
            touch_change_log(self._change_log)
        return True

    def _on_write_error(self, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        self._failing = reason
        self._backoff = min(max(self._backoff * 2, 0.05), MAX_RETRY_INTERVAL)
        self._retry_at = time.monotonic() + self._backoff
        self._warn_once(
            f"write:{error.errno}",
            f"trackrun: cannot write to the store ({reason}); {self.held_records:,} records "
            f"held in memory, will retry",
        )

    def _warn_once(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        with contextlib.suppress(Exception):  # stderr itself may be broken
            print(message, file=sys.stderr, flush=True)


def _resolve_deferred(items: list[tuple[Any, ...]]) -> None:
    """Replace the 0-d device tensors logged since the last flush by floats, with one
    device sync per (device, dtype) group instead of one per value (a sync per value
    stalls the training stream as often as it logs)."""
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], str, Any]]] = {}
    for _, second, payload in items:
        if isinstance(second, str):
            continue
        for key, raw in payload.items():
            kind = type(raw)
            if kind is float or kind is int or not hasattr(raw, "dtype"):
                continue
            groups.setdefault((str(raw.device), str(raw.dtype)), []).append((payload, key, raw))
    torch = sys.modules.get("torch")
    for members in groups.values():
        try:
            values = torch.stack([m[2].reshape(()) for m in members]).tolist()  # type: ignore[union-attr]
        except Exception:  # a stack that cannot be built: convert one by one
            values = [m[2].item() for m in members]
        for (payload, key, _), value in zip(members, values, strict=True):
            payload[key] = float(value)


def flush_all_writers(retry_for: float = 0.0) -> None:
    """Flush every open writer of this process (called at exit and from signal handlers).

    With ``retry_for``, a writer that cannot write keeps retrying up to that many seconds.
    """
    deadline = time.monotonic() + retry_for
    for writer in list(_open_writers):
        with contextlib.suppress(Exception):
            while not writer.flush() and time.monotonic() < deadline:
                time.sleep(0.1)


def _flush_at_exit() -> None:
    flush_all_writers(retry_for=EXIT_RETRY_S)
    for writer in list(_open_writers):
        held = writer.held_records + len(writer._pending)
        if held:
            writer._warn_once(
                "exit",
                f"trackrun: {held:,} records could not be written to {writer.path} before exit "
                f"({writer._failing or 'unknown error'}) and are lost",
            )


atexit.register(_flush_at_exit)
