"""This process's side of its runs: the runs it is logging to, ending them on SIGTERM, how it
names itself for liveness checks, and the exit status it ends with.

run.py keeps one ``ActiveRuns`` of its ``Run`` objects: a run enters it when it starts or
attaches, and leaves when it finishes or is released.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from trackrun import liveness
from trackrun.event_writer import flush_all_writers


class _Finishable(Protocol):
    def finish(
        self, status: str = ..., error: str | None = ..., exit_code: int | None = ...
    ) -> int: ...


_R = TypeVar("_R", bound=_Finishable)
_sigterm_installed = False


class ActiveRuns(Generic[_R]):
    """The runs this process is logging to, the innermost last; on SIGTERM they all end
    killed (see ``_install_sigterm_handler``)."""

    def __init__(self) -> None:
        self._runs: list[_R] = []

    def innermost(self) -> _R | None:
        return self._runs[-1] if self._runs else None

    def push(self, run: _R) -> None:
        self._runs.append(run)
        _install_sigterm_handler(self.end_killed)

    def drop(self, run: _R) -> None:
        """``run`` no longer logs from this process (finished or released)."""
        if run in self._runs:
            self._runs.remove(run)

    def end_killed(self) -> None:
        for run in list(self._runs):
            run.finish("killed", error="SIGTERM")


def _install_sigterm_handler(end_runs: Callable[[], None]) -> None:
    """On SIGTERM, ``end_runs()`` (mark active runs killed) and flush, then die as SIGTERM
    would have.

    Only installed from the main thread and only over the default handler, so a host
    program's own SIGTERM handling (Jupyter kernels, servers) is never replaced.
    """
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: object) -> None:
        end_runs()
        flush_all_writers()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    _sigterm_installed = True


def process_identity() -> dict[str, Any]:
    """pid, process start token and host of this process, for liveness checks."""
    pid = os.getpid()
    return {"pid": pid, "proc_start": liveness.process_start_time(pid), "host": liveness.hostname()}


def exit_status(error: BaseException | None) -> int:
    """The exit status a process ending with ``error`` has: SystemExit's own code (0 for
    None, 1 for a message), 130 for KeyboardInterrupt, 1 for any other exception."""
    if isinstance(error, SystemExit):
        code = error.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    if isinstance(error, KeyboardInterrupt):
        return 130
    return 0 if error is None else 1
