"""Reproductions started from the REST API: one background ``trackrun reproduce --run`` per
run, its state while it runs or after it failed, and the last verdict recorded on a run.

The verdict itself lives in the run directories (a ``reproduction`` event on both runs,
written by trackrun.reproduction.verdict); this module only remembers what the files cannot
say yet: that a reproduction is running, or that it failed before recording anything. That
state is kept here, in the server process, keyed by run id, so a reloaded browser finds it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from trackrun import jobs
from trackrun.errors import RunStateError
from trackrun.events import iter_events
from trackrun.ids import check_run_id
from trackrun.layout import is_group_shared, make_dir
from trackrun.server import schemas as s
from trackrun.store import Store

log = logging.getLogger("trackrun")

#: The folder under the store root that holds one reproduction folder per run.
FOLDER_NAME = "reproductions"
#: The CLI's prefix of an error it was raised on purpose (trackrun.cli.main).
_CLI_ERROR = "trackrun: error: "
_VERDICT_EXIT_CODES = (0, 3)  # the CLI's "identical / within tolerance" and "different"


@dataclass
class _State:
    """A reproduction this server started: running (``message`` None) or failed."""

    started_at: float
    running: bool = True
    message: str | None = None


class Reproductions:
    """Starts reproductions in the background and reports their state, over one Store.

    Methods are blocking (call them from a worker thread) and thread-safe. ``python`` is
    the interpreter that runs ``trackrun reproduce`` (default: the server's own).
    """

    def __init__(self, store: Store, python: str | None = None) -> None:
        self.store = store
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def folder(self, run_id: str) -> Path:
        """Where the reproduction of ``run_id`` is written (replaced on each start)."""
        return self.store.root / FOLDER_NAME / check_run_id(run_id)

    def start(self, run_id: str) -> s.ReproductionStarted:
        """Start reproducing ``run_id`` in the background; answers at once.

        Raises InvalidRunIdError (400) for a malformed id, RunNotFoundError (404) for an
        unknown run, RunStateError (409) while one of this run is running or while the run
        itself is, and TrackrunError (400, reproduce's own message) for a run that cannot be
        reproduced (no recorded code or history); nothing is written or started then.
        """
        check_run_id(run_id)
        with self._lock:
            self._refuse_if_running(run_id)
        status = self.store.summary(run_id)["status"]
        if status in ("queued", "running"):
            raise RunStateError(
                f"run {run_id} is still {status}: reproduce it once it has ended, so that "
                "there is a whole record to compare with"
            )
        self._check_reproducible(run_id)
        with self._lock:
            self._refuse_if_running(run_id)
            started = time.time()
            self._states[run_id] = _State(started)
        worker = threading.Thread(
            target=self._reproduce,
            args=(run_id, started),
            name=f"trackrun-reproduce-{run_id}",
            daemon=True,
        )
        worker.start()
        return {"run_id": run_id, "state": "started", "started_at": started}

    def state(self, run_id: str) -> s.ReproductionInfo | None:
        """The reproduction state of ``run_id`` for its detail; None when it was never
        reproduced (nor is a reproduction with a verdict) and none is running."""
        last = last_verdict(self.store, run_id)
        with self._lock:
            mine = self._states.get(run_id)
            mine = None if mine is None else _State(mine.started_at, mine.running, mine.message)
        # A failure is news until a verdict recorded after it (the CLI's, say) replaces it.
        if mine is not None and (
            mine.running or last is None or (last["at"] or 0) < mine.started_at
        ):
            return {
                "state": "running" if mine.running else "failed",
                "started_at": mine.started_at,
                "message": mine.message,
                "last": last,
            }
        if last is None:
            return None
        return {"state": "done", "started_at": None, "message": None, "last": last}

    # -- the background work ---------------------------------------------------------------
    def _refuse_if_running(self, run_id: str) -> None:
        """Raise RunStateError while a reproduction of ``run_id`` runs (hold the lock)."""
        state = self._states.get(run_id)
        if state is not None and state.running:
            raise RunStateError(
                f"run {run_id} is already being reproduced (since "
                f"{time.strftime('%H:%M:%S', time.localtime(state.started_at))}); wait for "
                "its verdict in the run's detail"
            )

    def _check_reproducible(self, run_id: str) -> None:
        """Raise reproduce's own TrackrunError when the run's record cannot become a script
        (reading only: the same checks ``trackrun reproduce`` makes before writing)."""
        from trackrun.reproduction.folder import plan_folder
        from trackrun.reproduction.record import load_record

        plan_folder(load_record(self.store, run_id))

    def _reproduce(self, run_id: str, started: float) -> None:
        """The worker thread: run ``trackrun reproduce RUN --run`` and keep its outcome."""
        message: str | None
        try:
            message = self._run_cli(run_id, started)
        except Exception as error:  # never let the thread die without saying why
            log.exception("trackrun: the reproduction of %s failed", run_id)
            message = f"the reproduction could not be run: {error}"
        with self._lock:
            if message is None:
                self._states.pop(run_id, None)  # the run directories hold the verdict
            else:
                self._states[run_id] = _State(started, running=False, message=message)

    def _run_cli(self, run_id: str, started: float) -> str | None:
        """Run the CLI in a fresh process (a crash or a hung script never touches the
        server); None once a verdict is recorded, else why not, in plain words."""
        folder = self.folder(run_id)
        parent = folder.parent
        if not parent.is_dir():
            make_dir(parent, private=not is_group_shared(self.store.root), exist_ok=True)
        completed = subprocess.run(
            [self._python, "-m", "trackrun.cli", "--store", str(self.store.root),
             "reproduce", run_id, "-o", str(folder), "--run", "--force"],
            cwd=parent,
            env=jobs.without_jupyter_credentials(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
        )  # fmt: skip
        last = last_verdict(self.store, run_id)
        if completed.returncode in _VERDICT_EXIT_CODES and last and (last["at"] or 0) >= started:
            return None
        return self._failure(completed, folder)

    def _failure(self, completed: subprocess.CompletedProcess[str], folder: Path) -> str:
        """Why a reproduction recorded no verdict: the CLI's own error, and the script's last
        line of output when it says more (the script's traceback ends there)."""
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        said = [line[len(_CLI_ERROR) :] for line in lines if line.startswith(_CLI_ERROR)]
        if said:
            message = said[-1]
        elif completed.returncode < 0:
            message = f"the reproduction was stopped by signal {-completed.returncode}"
        else:
            message = f"trackrun reproduce exited with status {completed.returncode}"
            if lines:
                message += f": {lines[-1].strip()}"
        script_said = _last_line(folder / "reproduce.log")
        if script_said and script_said not in message:
            message += f". The script's last line: {script_said}"
        return message.replace(str(self.store.root), "<store>")


def last_verdict(store: Store, run_id: str) -> s.ReproductionVerdict | None:
    """The last ``reproduction`` event recorded on ``run_id`` (as the original or as the
    reproduction), in wire form; None when there is none."""
    from trackrun.reproduction.verdict import Verdict

    paths = store.paths.run(check_run_id(run_id))
    found: dict[str, Any] | None = None
    for event in iter_events(paths.events_of("api")):
        if event.get("type") == "reproduction":
            found = event
    if found is None:
        return None
    verdict = str(found.get("verdict"))
    try:
        worst = None if found.get("max_rel_diff") is None else float(found["max_rel_diff"])
    except (TypeError, ValueError):
        worst = None
    rtol = found.get("rtol")
    rtol = float(rtol) if isinstance(rtol, (int, float)) else None
    text = verdict
    if rtol is not None:
        try:
            text = str(Verdict(verdict, worst, rtol))
        except (TypeError, ValueError):
            text = verdict
    answer = {
        "verdict": verdict,
        "text": text,
        "original": str(found.get("original")),
        # None when the script failed before its run started: there is no other run.
        "reproduction": None if found.get("reproduction") is None else str(found["reproduction"]),
        "max_rel_diff": _wire_number(worst),
        "rtol": rtol,
        # The browser is told <store>, not the server's path (a traceback names it).
        "reasons": [str(r).replace(str(store.root), "<store>") for r in found.get("reasons") or []],
        "at": found.get("time"),
    }
    return cast(s.ReproductionVerdict, answer)


def _wire_number(value: float | None) -> Any:
    from trackrun.events import encode_number

    return None if value is None else encode_number(value)


def _last_line(path: Path, tail: int = 4096) -> str | None:
    """The last non-empty line of the file's last ``tail`` bytes, if any."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - tail))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else None
