"""The store's inter-process index lock: exclusive, and fair to the processes waiting for it.

DuckDB lets one process at a time open the index file; this lock decides which. A holder
keeps the index for a short lease after its last use, to serve a burst of queries without
opening it again; a process polling the store ten times a second would then keep it
forever. So a process that has to wait says so, by holding a shared ``flock`` on a second
file (``index.lock.wait``) while it waits, and holders look at that file after every use
and while idle in their lease: when someone waits, they let go at once. A process about to
take the lock first looks whether others wait, and if so queues behind them instead of
taking the lock from under them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from pathlib import Path

from trackrun.errors import StoreError


class FairLock:
    """An exclusive ``flock`` on ``path`` whose waiters are announced in ``path + '.wait'``.

    Not thread-safe: the owner (an Index) serialises its calls with its own mutex.
    """

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        self.path = path
        self.wait_path = Path(f"{path}.wait")
        self.mode = mode
        self._fd: int | None = None
        self._wait_fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float) -> None:
        """Take the lock, waiting in turn with other waiters for at most ``timeout`` seconds.

        Raises StoreError when it stays taken that long (naming the lock file to delete if no
        trackrun process is running).
        """
        if self._fd is not None:
            return
        fd = self._open(self.path)
        try:
            if not self.others_waiting() and _try_lock(fd, fcntl.LOCK_EX):
                self._fd = fd
                return
            self._wait_in_turn(fd, timeout)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (no-op when not held)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def others_waiting(self) -> bool:
        """True when another process is waiting for the lock (costs two system calls)."""
        fd = self._wait_file()
        if not _try_lock(fd, fcntl.LOCK_EX):
            return True  # a waiter holds it shared
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        self.release()
        if self._wait_fd is not None:
            os.close(self._wait_fd)
            self._wait_fd = None

    # -- internals ------------------------------------------------------------------------
    def _wait_in_turn(self, fd: int, timeout: float) -> None:
        wait_fd = self._wait_file()
        # Shared: every waiter holds it at once; a holder's probe (exclusive, non-blocking)
        # fails while any does. Blocking here lasts at most one probe (microseconds).
        fcntl.flock(wait_fd, fcntl.LOCK_SH)
        try:
            deadline = time.monotonic() + timeout
            delay = 0.0005
            while not _try_lock(fd, fcntl.LOCK_EX):
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"the run index next to {self.path} stayed locked for {timeout:.0f}s "
                        "by another trackrun process; if none is running, delete "
                        f"{self.path} and retry"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.005)
        finally:
            fcntl.flock(wait_fd, fcntl.LOCK_UN)

    def _wait_file(self) -> int:
        if self._wait_fd is None:
            self._wait_fd = self._open(self.wait_path)
        return self._wait_fd

    def _open(self, path: Path) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self.mode)
        # The umask may have taken bits away, or the file may predate private stores.
        if stat.S_IMODE(os.fstat(fd).st_mode) != self.mode:
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, self.mode)
        return fd


def _try_lock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
