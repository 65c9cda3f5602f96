"""The connection to index.duckdb: one inter-process file lock, a short lease, corrupt-file recovery."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import duckdb

from trackrun.errors import StoreError
from trackrun.layout import StorePaths
from trackrun.store import perms
from trackrun.store.database import forget_invalidated_database, shared_database
from trackrun.store.diagnosis import disk_full_error, is_disk_full, is_lock_conflict
from trackrun.store.lock import FairLock
from trackrun.store.schema import SCHEMA_SQL, SCHEMA_VERSION

#: Seconds a process keeps the index open after its last use, to serve a burst of queries.
DEFAULT_LEASE = float(os.environ.get("TRACKRUN_INDEX_LEASE", "0.5"))
#: Seconds to wait for another process to let go of the index before giving up.
LOCK_TIMEOUT = 120.0
#: While idle in its lease, a holder looks this often whether another process waits.
WAITER_CHECK = 0.05

_Stamp = tuple[tuple[int, int] | None, tuple[int, int] | None]
_aliases = itertools.count()
_open_indexes: weakref.WeakSet[Index] = weakref.WeakSet()


@atexit.register
def _close_open_indexes() -> None:
    """Let go of every index still leased at exit: detaching checkpoints its WAL into the
    file, so the next process does not replay it."""
    for index in list(_open_indexes):
        with contextlib.suppress(Exception):
            index.close()


class Index:
    """Holds at most one DuckDB connection to a store's index, under the store's file lock.

    ``connection()`` yields an open read-write connection; afterwards the connection (and
    the lock) is kept for ``lease`` seconds, then released so other processes can use the
    index. Only one process at a time ever opens the file, which is what DuckDB allows.
    ``generation`` grows each time the index file is created anew (first use, rebuild).
    The connection is a cursor of a process-wide in-memory DuckDB instance with the index
    file attached (as the default database) for the lease, and detached at its end.
    """

    def __init__(self, paths: StorePaths, lease: float = DEFAULT_LEASE) -> None:
        self.paths = paths
        self.lease = lease
        self.generation = 0
        #: Grows each time this process takes the index and finds that the files changed since
        #: it last let go of them (another process wrote to it), and on every new generation.
        self.epoch = 0
        self._con: Any = None
        self._alias: str | None = None
        self._stamp: _Stamp | None = None
        self._flock = FairLock(paths.lock)
        self._file_mode = perms.PRIVATE_FILE
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
            self._disconnect()
            _open_indexes.discard(self)
            if self._flock.held:
                # Taken while still holding the lock: these are the files as this process left
                # them, so a later difference means another process wrote to the index.
                self._restrict_files()
                self._stamp = self.stamp()
                self._flock.release()

    def changed_elsewhere(self) -> bool:
        """True when another process may have written to the index since this one let go of it.

        Compares the index files' sizes and mtimes with those recorded when this process last
        released the lock (DuckDB writes its file and WAL on every commit and checkpoint).
        False while this process holds the index: then nobody else can write to it.
        """
        with self._mutex:
            if self._flock.held:
                return False
            return self._stamp is None or self.stamp() != self._stamp

    def stamp(self) -> _Stamp:
        """(mtime, size) of the index file and of its WAL: every committed write changes them."""

        def of(path: str) -> tuple[int, int] | None:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return None
            return (st.st_mtime_ns, st.st_size)

        index = str(self.paths.index)
        return (of(index), of(index + ".wal"))

    @contextlib.contextmanager
    def read_only(self) -> Iterator[Any]:
        """Yield a connection on which the index is attached READ_ONLY: DuckDB itself refuses
        every write through it. The index is let go afterwards."""
        with self._mutex:
            if self._depth:
                raise StoreError("a read-only query cannot run inside an index connection")
            if not self._flock.held:
                self._acquire_lock()
            try:
                self._disconnect()
                con = self._attach(read_only=True)
                try:
                    yield con
                finally:
                    self._detach(con)
            finally:
                self.close()

    def recreate(self) -> None:
        """Delete the index file and start an empty one (the caller re-ingests every run)."""
        with self._mutex:
            held = self._flock.held
            if not held:
                self._acquire_lock()
            self._disconnect()
            self._remove_index_files()
            self._con = self._connect_fresh()
            _open_indexes.add(self)

    # -- internals ------------------------------------------------------------------------
    def _schedule_release(self) -> None:
        # Another process waits: let go now rather than at the end of the lease, so that a
        # process polling the store often never keeps the others out.
        if self.lease <= 0 or self._flock.others_waiting():
            self.close()
            return
        self._release_at = time.monotonic() + self.lease
        if self._timer is None:
            self._start_timer(self.lease)

    def _start_timer(self, delay: float) -> None:
        self._timer = threading.Timer(min(delay, WAITER_CHECK), self._release_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _release_if_idle(self) -> None:
        with self._mutex:
            self._timer = None
            if self._depth > 0 or self._con is None:
                return
            remaining = self._release_at - time.monotonic()
            if remaining > 0 and not self._flock.others_waiting():
                self._start_timer(remaining)
                return
            self.close()

    def _acquire_lock(self) -> None:
        root = self.paths.root
        perms.ensure_root(root)
        perms.make_dir(self.paths.runs, root)
        self.paths.ensure()
        self._flock.mode = self._file_mode = perms.file_mode(root)
        self._flock.acquire(LOCK_TIMEOUT)

    def _open(self) -> None:
        self._acquire_lock()
        unchanged = self._stamp is not None and self.stamp() == self._stamp
        if not unchanged:
            self.epoch += 1
        try:
            try:
                # Files exactly as this process left them need no schema check again.
                self._con = self._attach() if unchanged else self._connect_checked()
            except duckdb.Error as error:
                if is_lock_conflict(error):
                    raise _lock_error(self.paths, error) from None
                if not unchanged:
                    raise
                self._con = self._connect_checked()  # damaged since: the checked path mends it
        except BaseException:
            self.close()
            # The files are not as this process left them (it never opened them): another
            # program may have created or changed them, so the next open checks them again.
            self._stamp = None
            raise
        _open_indexes.add(self)

    def _attach(self, read_only: bool = False) -> Any:
        """A new cursor of the shared instance with the index file attached and in use."""
        con = shared_database().cursor()
        alias = f"trackrun_index_{next(_aliases)}"
        path = str(self.paths.index).replace("'", "''")
        try:
            con.execute(f"ATTACH '{path}' AS {alias}" + (" (READ_ONLY)" if read_only else ""))
        except BaseException:
            con.close()
            raise
        self._alias = alias
        try:
            con.execute(f"USE {alias}")
        except BaseException:
            self._detach(con)
            raise
        return con

    def _detach(self, con: Any) -> None:
        alias, self._alias = self._alias, None
        with contextlib.suppress(duckdb.Error):
            if alias is not None:
                con.execute("USE memory")
                # Detaching checkpoints the WAL into the file and drops DuckDB's file lock.
                con.execute(f"DETACH {alias}")
        with contextlib.suppress(duckdb.Error):
            con.close()

    def _disconnect(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            self._detach(con)

    def _connect_checked(self) -> Any:
        existed = self.paths.index.exists()
        if not existed:
            # Nothing to check (a first use, or a deleted index): straight to a new file,
            # without attaching (and detaching, which checkpoints) an empty one first.
            self._remove_index_files()
            return self._connect_fresh()
        try:
            con = self._attach()
        except duckdb.Error as error:
            if is_lock_conflict(error):
                raise _lock_error(self.paths, error) from None
            if is_disk_full(error):  # a full disk is not a damaged index: keep it as it is
                raise disk_full_error(str(self.paths.index), error) from None
            return self._rebuild_after(error)
        try:
            version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error as error:
            if existed and "meta" not in str(error):
                self._detach(con)
                return self._rebuild_after(error)
            version = None
        if version is None or version[0] != str(SCHEMA_VERSION):
            self._detach(con)
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
        forget_invalidated_database()
        self._set_aside(error)
        return self._connect_fresh()

    def set_aside(self, error: BaseException) -> None:
        """Move a damaged index aside (kept as ``index.duckdb.broken-<time>``) so that the
        next connection builds a new one from the run directories; warns once. Lets go of
        the index (the next ``connection()`` takes it again)."""
        with self._mutex:
            if not self._flock.held:
                self._acquire_lock()
            try:
                self._disconnect()
                forget_invalidated_database()
                self._set_aside(error)
            finally:
                self.close()
                self._stamp = None  # no file to trust as left: the next open checks and creates

    def _set_aside(self, error: BaseException) -> None:
        index = str(self.paths.index)
        kept = f"{index}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                os.rename(index + suffix, kept + suffix)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(index + ".tmp")
        print(
            f"trackrun: the run index {self.paths.index.name} was damaged "
            f"({_first_line(error)}); kept as {os.path.basename(kept)}, rebuilding it from "
            "the run directories (they are the truth: nothing is lost)",
            file=sys.stderr,
        )

    def _remove_index_files(self) -> None:
        for suffix in ("", ".wal", ".tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.paths.index}{suffix}")

    def _restrict_files(self) -> None:
        # DuckDB creates its files as the umask says (often 0644): narrow them to the store's.
        index = str(self.paths.index)
        for suffix in ("", ".wal"):
            perms.restrict(index + suffix, self._file_mode)

    def _connect_fresh(self) -> Any:
        con = self._attach()
        # One transaction: one commit (one WAL write and sync) instead of one per table.
        try:
            con.execute(
                f"BEGIN TRANSACTION; {SCHEMA_SQL}"
                f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'); COMMIT"
            )
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self._detach(con)
            raise
        self._restrict_files()
        self.generation += 1
        self.epoch += 1
        return con


def _lock_error(paths: StorePaths, error: BaseException) -> StoreError:
    return StoreError(
        f"the run index {paths.index} is open in another program "
        f"({_first_line(error)}); close that program (e.g. a duckdb shell) and retry"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
