"""This process's one in-memory DuckDB instance, onto which index files are attached.

Created in a background thread as soon as the store package is imported (DuckDB releases the
GIL while it builds its catalog), recreated after a fork, and replaced after a fatal error.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import Any

import duckdb

_database_lock = threading.Lock()
_database: Any = None
_forked_away: list[Any] = []
_preparing: threading.Thread | None = None


def shared_database() -> Any:
    """This process's one in-memory DuckDB instance, onto which index files are attached.

    Creating a DuckDB instance costs ~25 ms (its catalog of built-in functions; ~40 ms for
    the first one in a process), attaching a file ~1 ms (~6 ms the first time): so the
    instance lives as long as the process (recreated after a fork) and
    each lease only attaches and detaches the index file, which takes and drops DuckDB's
    own file lock just as opening and closing a connection would.
    """
    global _database
    with _database_lock:
        if _database is None:
            # No fsync on commit: the index is a cache of the run directories (which their
            # writers do not sync either). A process that dies keeps every commit (the OS
            # has the bytes); only a machine crash can lose the last ones, or damage the
            # file, which DuckDB's checksums tell and the store then rebuilds from the runs.
            # A sync costs more than half of a large ingest's commit.
            try:
                _database = duckdb.connect(":memory:", config={"fsync_mode": "NONE"})
            except duckdb.Error:  # a DuckDB older than the setting (before 1.4)
                _database = duckdb.connect(":memory:")
        return _database


def _prepare_database() -> None:
    """Create the shared instance in a background thread (DuckDB releases the GIL while it
    builds its catalog), so that it is ready, or nearly, when the first query needs it:
    the rest of the store package is still being imported meanwhile."""
    global _preparing

    def create() -> None:
        with contextlib.suppress(Exception):
            shared_database()

    _preparing = threading.Thread(target=create, name="trackrun-duckdb", daemon=True)
    _preparing.start()


@atexit.register
def _wait_for_database() -> None:
    # A process that exits while DuckDB is still being created in the background would
    # have that thread torn down inside DuckDB's C++ code, which aborts the process.
    if _preparing is not None and _preparing.ident != threading.get_ident():
        _preparing.join()


def _forget_database_after_fork() -> None:
    # The parent's lock may have been held by its creating thread at the fork; the parent's
    # instance is kept referenced, never destroyed here (its worker threads did not fork).
    global _database_lock, _database, _preparing
    _database_lock = threading.Lock()
    if _database is not None:
        _forked_away.append(_database)
    _database = None
    _preparing = None


os.register_at_fork(after_in_child=_forget_database_after_fork)


def forget_invalidated_database() -> None:
    """After a fatal error DuckDB refuses every further statement of the instance: start a
    new one (the old one is kept referenced, as after a fork)."""
    global _database
    with _database_lock:
        if _database is None:
            return
        try:
            _database.execute("SELECT 1").fetchall()
        except duckdb.Error:
            _forked_away.append(_database)
            _database = None


_prepare_database()
