"""Judging runs that a cluster scheduler (SLURM) owns: ask it once the heartbeats stop.

Liveness across hosts cannot use pids, so the store never judges these runs (it skips runs
whose ``job/handle.json`` names a scheduler backend). The rule, here:

- a run is alive while its heartbeats are fresh;
- once they stop (or while it is queued), ask SLURM: squeue, then the final record (sacct);
- record ``lost`` only when SLURM says the job is gone without a final record from the
  supervisor; SLURM's own verdicts (TIMEOUT, PREEMPTED, NODE_FAIL, CANCELLED...) become
  clear errors, and PREEMPTED / NODE_FAIL are resubmitted while ``--retries`` allow;
- a controller that does not answer is "SLURM controller not reachable", never ``lost``.

What SLURM said last is kept in ``job/slurm-state.json`` for ``trackrun show`` and the panel:
each pass refreshes it for every active SLURM run (one ``squeue`` for all of them), and
once more for runs that ended since, until it holds their final state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from trackrun.event_writer import HEARTBEAT_INTERVAL
from trackrun.events import append_event, iter_events
from trackrun.jobs import slurm_cli
from trackrun.jobs.backends import Handle, JobState, get_backend
from trackrun.jobs.backends.slurm import (
    MARKER_TIMEOUT,
    NOT_VISIBLE,
    USED_MARKER,
    SlurmBackend,
    load_state,
    save_state,
)
from trackrun.layout import ACTIVE_STATUSES, TERMINAL_STATUSES, RunPaths, StorePaths
from trackrun.store import Store

#: A running SLURM run whose newest event is older than this (seconds) is asked about.
STALE_AFTER = float(os.environ.get("TRACKRUN_SLURM_STALE_AFTER", str(3 * HEARTBEAT_INTERVAL)))
#: Seconds after its end during which a run whose saved SLURM state is not final yet (it
#: says RUNNING, or nothing) is asked about once more.
RECHECK_ENDED = 24 * 3600.0
#: ``describe(ask=True)`` does not ask again about a state saved less than this ago (the
#: reconcile pass ``trackrun show`` has just run).
ASKED_RECENTLY = 2.0

#: SLURM's final states that say why the job ended, as (status, error) for the run.
_VERDICTS = {
    "CANCELLED": ("killed", "cancelled in SLURM (scancel) before its supervisor recorded an end"),
    "TIMEOUT": (
        "failed",
        "SLURM stopped the job at its time limit (TIMEOUT); ask for more with "
        '--slurm "time=HH:MM:SS"',
    ),
    "OUT_OF_MEMORY": (
        "failed",
        'the job ran out of memory (OUT_OF_MEMORY); ask for more with --slurm "mem=..."',
    ),
    "BOOT_FAIL": ("failed", "the job's compute node failed to boot (BOOT_FAIL)"),
    "DEADLINE": ("failed", "SLURM cancelled the job at its deadline (DEADLINE)"),
}
#: SLURM's final states after which the run is resubmitted while ``--retries`` allow.
_RESUBMIT = {
    "PREEMPTED": "SLURM preempted the job (PREEMPTED)",
    "NODE_FAIL": "the job's compute node failed (NODE_FAIL)",
}
for _state, _what in _RESUBMIT.items():
    _VERDICTS[_state] = ("failed", f"{_what} and no --retries are left")
#: Seconds between two background passes (the Jupyter server's drainer).
RECONCILE_EVERY = float(os.environ.get("TRACKRUN_RECONCILE_EVERY", "15"))

log = logging.getLogger("trackrun.jobs")
_background: dict[Path, _Worker] = {}
_background_lock = threading.Lock()
_stores: dict[Path, Store] = {}

#: A SLURM run of the store: its folder, its handle, its status and newest event time.
_Row = tuple[RunPaths, Handle, str, Any]


def reconcile(
    store: Store, now: float | None = None, judge_only: bool = False
) -> dict[str, JobState]:
    """One pass over the store's SLURM runs; returns what SLURM said, by run id.

    With ``judge_only`` (``trackrun ls``, which shows statuses, not SLURM's detail), asks
    only about the runs to judge: then a listing of runs with fresh heartbeats never waits
    for a controller that is down.

    Saves SLURM's answer (``job/slurm-state.json``) for every queued or running SLURM run,
    from one ``squeue`` for all of them, and for runs that ended since the last pass until
    their final state is saved. Judges the queued runs and the running ones whose heartbeats
    stopped (older than ``STALE_AFTER`` at ``now``): records the outcome of those SLURM saw
    end, resubmits the preempted ones while ``--retries`` allow.

    Never raises for a SLURM problem: the pass stops at the first query the controller does
    not answer (saving "SLURM controller not reachable" for the runs not asked, whose
    status stays as it is); another SLURM error is recorded on its run.
    """
    if not (store.root / USED_MARKER).exists():
        return {}  # this store never sent a run to SLURM
    now = now or time.time()
    active = _slurm_runs(
        store,
        "SELECT run_id, status, last_event_at FROM runs WHERE status IN ('queued', 'running')",
    )
    ended = [
        row
        for row in _slurm_runs(
            store,
            "SELECT run_id, status, last_event_at FROM runs WHERE detached "
            f"AND status IN ({', '.join(repr(s) for s in sorted(TERMINAL_STATUSES))}) "
            "AND ended_at >= ?",
            [now - RECHECK_ENDED],
        )
        if row[1].ident.get("job_id") and _unsettled(row[0])
    ]
    if judge_only:
        active = [row for row in active if not _alive_by_heartbeats(row, now)]
        ended = []
    if not active and not ended:
        return {}
    backend = SlurmBackend(store.paths)
    try:
        states = backend.states([handle for _, handle, _, _ in [*active, *ended]])
    except slurm_cli.SlurmError as error:  # ControllerUnreachable, or squeue itself failed
        detail = (
            slurm_cli.UNREACHABLE
            if isinstance(error, slurm_cli.ControllerUnreachable)
            else str(error)
        )
        return _no_answer(active, detail)
    for run, _, _, _ in [*active, *ended]:
        save_state(run, states[run.run_id])
    for index, (run, handle, status, last) in enumerate(active):
        state = states[run.run_id]
        if _alive_by_heartbeats((run, handle, status, last), now):
            continue  # alive by its heartbeats, whatever SLURM says
        try:
            if state.phase == "running" and status == "queued":
                _check_started(store, backend, run, handle, state)
            elif state.phase in ("ended", "gone"):
                _judge(store, backend, run, handle, state)
        except slurm_cli.ControllerUnreachable:
            states.update(_no_answer([active[index]], slurm_cli.UNREACHABLE))
            break
        except slurm_cli.SlurmError as error:
            log.warning("trackrun: judging SLURM run %s failed: %s", run.run_id, error)
            states[run.run_id] = JobState("unknown", str(error), dict(state.extra))
            save_state(run, states[run.run_id])
    return states


def _slurm_runs(store: Store, query: str, args: list[Any] | None = None) -> list[_Row]:
    rows = store.sql(query, args).to_dicts()
    found = []
    for row in rows:
        run = store.paths.run(str(row["run_id"]))
        handle = Handle.load(run)
        if handle is not None and handle.backend == SlurmBackend.name:
            found.append((run, handle, str(row["status"]), row.get("last_event_at")))
    return found


def _alive_by_heartbeats(row: _Row, now: float) -> bool:
    _, _, status, last = row
    return status == "running" and isinstance(last, (int, float)) and now - last <= STALE_AFTER


def _unsettled(run: RunPaths) -> bool:
    # A run that ended is asked about until its saved state is SLURM's final word.
    saved = load_state(run)
    return saved is None or saved.get("phase") not in ("ended", "gone")


def _no_answer(rows: list[_Row], detail: str) -> dict[str, JobState]:
    # SLURM did not answer: the runs keep their status; the panel says why it knows no more.
    answers = {}
    for run, handle, _, _ in rows:
        state = JobState("unknown", detail, {"job_id": handle.ident.get("job_id")})
        save_state(run, state)
        answers[run.run_id] = state
    return answers


def reconcile_in_background(store: StorePaths) -> None:
    """Reconcile ``store`` in a background thread, at most every ``RECONCILE_EVERY`` seconds
    (for the Jupyter server's drainer tick: a SLURM query may take seconds when the
    controller is down, and the tick must not wait for it)."""
    root = store.root
    if not (root / USED_MARKER).exists():
        return  # this store never sent a run to SLURM: nothing to ask
    with _background_lock:
        thread = _background.get(root)
        if thread and (thread.is_alive() or time.monotonic() - thread.started < RECONCILE_EVERY):
            return
        worker = _Worker(root)
        _background[root] = worker
    worker.start()


class _Worker(threading.Thread):
    def __init__(self, root: Path) -> None:
        super().__init__(name="trackrun-reconcile", daemon=True)
        self.root = root
        self.started = time.monotonic()

    def run(self) -> None:
        try:
            if self.root not in _stores:
                _stores[self.root] = Store(self.root, lease=0)
            reconcile(_stores[self.root])
        except Exception:  # a background pass must never take the server down
            log.exception("trackrun: reconciling SLURM runs failed")


def describe(store: Store, run_id: str, ask: bool = True) -> dict[str, Any] | None:
    """The backend's view of a detached run for ``trackrun show`` and the panel: backend,
    job id, SLURM state with its detail, queue wait (seconds); None for runs without a jobs
    handle. With ``ask``, asks SLURM now while the run is active (unless a reconcile pass
    saved its state just now); without (the server, whose drainer reconciles in the
    background), reports the last answer saved."""
    run = store.paths.run(run_id)
    handle = Handle.load(run)
    if handle is None:
        return None
    info: dict[str, Any] = {"backend": handle.backend, **handle.ident}
    if handle.backend != SlurmBackend.name:
        return info
    saved = load_state(run)
    active = store.summary(run_id)["status"] in ACTIVE_STATUSES
    checked = saved.get("checked_at") if saved else None
    recent = isinstance(checked, (int, float)) and time.time() - checked < ASKED_RECENTLY
    if ask and not recent and (active or not saved or saved.get("phase") not in ("ended", "gone")):
        state = get_backend(handle.backend, store.paths).state(handle)
        save_state(run, state)
    saved = load_state(run)
    if saved:
        info.update({k: v for k, v in saved.get("extra", {}).items() if v is not None})
        info["state"] = saved.get("detail")
        info["phase"] = saved.get("phase")
    return info


def _check_started(
    store: Store, backend: SlurmBackend, run: RunPaths, handle: Handle, state: JobState
) -> None:
    # A job that was pending at submit time starts later: it must write its marker soon.
    started = (run.job / "slurm-started").exists() or run.events_of("supervisor").exists()
    if started or time.time() - handle.submitted_at < MARKER_TIMEOUT:
        return
    wait = state.extra.get("queue_wait") or 0.0
    if time.time() - handle.submitted_at - wait < MARKER_TIMEOUT:
        return
    backend.cancel(handle)
    _record(
        store,
        run,
        "failed",
        f"{NOT_VISIBLE}: job {handle.ident.get('job_id')} ran on "
        f"{state.extra.get('node') or 'a node'} but never wrote {run.job / 'slurm-started'}",
    )


def _judge(
    store: Store, backend: SlurmBackend, run: RunPaths, handle: Handle, state: JobState
) -> None:
    # The supervisor may have written its final status just before the job ended.
    store.ingest([run.run_id])
    if store.summary(run.run_id)["status"] not in ACTIVE_STATUSES:
        return
    slurm_state = str(state.extra.get("slurm_state") or "")
    started = (run.job / "slurm-started").exists()
    if not started and state.phase == "ended":
        _record(
            store,
            run,
            "failed",
            f"{NOT_VISIBLE}: SLURM job {handle.ident.get('job_id')} "
            f"ended ({state.detail}) without writing {run.job / 'slurm-started'}",
        )
        return
    if slurm_state in _RESUBMIT and _attempts(run) < _allowed(run):
        try:
            backend.resubmit(run, handle)
        except slurm_cli.ControllerUnreachable:
            raise  # the next pass tries again
        except slurm_cli.SlurmError as refused:
            _record(
                store,
                run,
                "failed",
                f"{_RESUBMIT[slurm_state]} and resubmitting it failed: {refused}",
            )
        return
    if slurm_state in _VERDICTS:
        status, error = _VERDICTS[slurm_state]
        _record(store, run, status, error)
        return
    source = "sacct" if state.extra.get("source") == "sacct" else "squeue"
    _record(
        store,
        run,
        "lost",
        f"the SLURM job {handle.ident.get('job_id')} ended ({state.detail}, per {source}) "
        "without a final record from its supervisor (killed with SIGKILL, out of memory, "
        "or the node restarted)"
        if state.phase == "ended"
        else f"{state.detail} (asked squeue and sacct), and its supervisor recorded no end",
    )


def _record(store: Store, run: RunPaths, status: str, error: str) -> None:
    # The store's lock orders this append with every other writer of the observer file.
    with store.connection(refresh=False):
        append_event(run.events_of("observer"), "status", status=status, error=error)
    store.ingest([run.run_id])


def _attempts(run: RunPaths) -> int:
    events = iter_events(run.events_of("supervisor"))
    return sum(1 for e in events if e.get("type") == "attempt" and e.get("state") == "started")


def _allowed(run: RunPaths) -> int:
    from trackrun.jobs.freeze import read_spec

    return 1 + int(read_spec(run).get("retries") or 0)
