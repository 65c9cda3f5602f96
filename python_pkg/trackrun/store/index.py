"""The connection to index.duckdb: one inter-process file lock, a short lease, corrupt-file recovery."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import duckdb

from trackrun.errors import StoreError
from trackrun.layout import StorePaths
from trackrun.store.schema import SCHEMA_SQL, SCHEMA_VERSION

#: Seconds a process keeps the index open after its last use, to serve a burst of queries.
DEFAULT_LEASE = float(os.environ.get("TRACKRUN_INDEX_LEASE", "0.5"))
#: Seconds to wait for another process to let go of the index before giving up.
LOCK_TIMEOUT = 120.0


class Index:
    """Holds at most one DuckDB connection to a store's index, under the store's file lock.

    ``connection()`` yields an open read-write connection; afterwards the connection (and
    the lock) is kept for ``lease`` seconds, then released so other processes can use the
    index. Only one process at a time ever opens the file, which is what DuckDB allows.
    ``generation`` grows each time the index file is created anew (first use, rebuild).
    """

    def __init__(self, paths: StorePaths, lease: float = DEFAULT_LEASE) -> None:
        self.paths = paths
        self.lease = lease
        self.generation = 0
        self._con: Any = None
        self._lock_fd: int | None = None
        self._mutex = threading.RLock()
        self._depth = 0
        self._release_at = 0.0
        self._timer: threading.Timer | None = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """Yield the open connection (opening it, and taking the lock, if needed)."""
        with self._mutex:
            if self._con is None:
                self._open()
            self._depth += 1
            try:
                yield self._con
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._schedule_release()

    def close(self) -> None:
        """Close the connection and release the lock now."""
        with self._mutex:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._con is not None:
                with contextlib.suppress(duckdb.Error):
                    self._con.close()
                self._con = None
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def recreate(self) -> None:
        """Delete the index file and start an empty one (the caller re-ingests every run)."""
        with self._mutex:
            held = self._lock_fd is not None
            if not held:
                self._acquire_lock()
            if self._con is not None:
                with contextlib.suppress(duckdb.Error):
                    self._con.close()
                self._con = None
            self._remove_index_files()
            self._con = self._connect_fresh()

    # -- internals ------------------------------------------------------------------------
    def _schedule_release(self) -> None:
        if self.lease <= 0:
            self.close()
            return
        self._release_at = time.monotonic() + self.lease
        if self._timer is None:
            self._timer = threading.Timer(self.lease, self._release_if_idle)
            self._timer.daemon = True
            self._timer.start()

    def _release_if_idle(self) -> None:
        with self._mutex:
            self._timer = None
            if self._depth > 0 or self._con is None:
                return
            remaining = self._release_at - time.monotonic()
            if remaining > 0:
                self._timer = threading.Timer(remaining, self._release_if_idle)
                self._timer.daemon = True
                self._timer.start()
                return
            self.close()

    def _acquire_lock(self) -> None:
        self.paths.ensure()
        fd = os.open(self.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + LOCK_TIMEOUT
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreError(
                        f"the run index {self.paths.index} stayed locked for {LOCK_TIMEOUT:.0f}s "
                        "by another trackrun process; if none is running, delete "
                        f"{self.paths.lock} and retry"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)
        self._lock_fd = fd

    def _open(self) -> None:
        self._acquire_lock()
        try:
            self._con = self._connect_checked()
        except BaseException:
            self.close()
            raise

    def _connect_checked(self) -> Any:
        existed = self.paths.index.exists()
        try:
            con = duckdb.connect(str(self.paths.index))
        except duckdb.Error as error:
            if "lock" in str(error).lower():
                raise StoreError(
                    f"the run index {self.paths.index} is open in another program "
                    f"({_first_line(error)}); close that program (e.g. a duckdb shell) and retry"
                ) from None
            return self._rebuild_after(error)
        try:
            version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error as error:
            if existed and "meta" not in str(error):
                con.close()
                return self._rebuild_after(error)
            version = None
        if version is None or version[0] != str(SCHEMA_VERSION):
            con.close()
            if existed and version is not None:
                print(
                    f"trackrun: index schema {version[0]} is not {SCHEMA_VERSION}; "
                    "rebuilding it from the run directories",
                    file=sys.stderr,
                )
            self._remove_index_files()
            return self._connect_fresh()
        return con

    def _rebuild_after(self, error: BaseException) -> Any:
        print(
            f"trackrun: the run index {self.paths.index.name} was unreadable "
            f"({_first_line(error)}); rebuilding it from the run directories",
            file=sys.stderr,
        )
        self._remove_index_files()
        return self._connect_fresh()

    def _remove_index_files(self) -> None:
        for suffix in ("", ".wal", ".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.paths.index}{suffix}")

    def _connect_fresh(self) -> Any:
        con = duckdb.connect(str(self.paths.index))
        con.execute(SCHEMA_SQL)
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        self.generation += 1
        return con


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
