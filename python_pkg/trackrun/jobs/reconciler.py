"""Judging runs that a cluster scheduler (SLURM) owns: ask it once the heartbeats stop.

Liveness across hosts cannot use pids, so the store never judges these runs (it skips runs
whose ``job/handle.json`` names a scheduler backend). The rule, here:

- a run is alive while its heartbeats are fresh;
- once they stop (or while it is queued), ask SLURM: squeue, then the final record (sacct);
- record ``lost`` only when SLURM says the job is gone without a final record from the
  supervisor; SLURM's own verdicts (TIMEOUT, PREEMPTED, NODE_FAIL, CANCELLED...) become
  clear errors, and PREEMPTED / NODE_FAIL are resubmitted while ``--retries`` allow;
- a controller that does not answer is "SLURM controller not reachable", never ``lost``.

What SLURM said last is kept in ``job/slurm-state.json`` for ``trackrun show`` and the panel.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from trackrun.event_writer import HEARTBEAT_INTERVAL
from trackrun.events import append_event, iter_events
from trackrun.jobs import slurm_cli
from trackrun.jobs.backends import Handle, JobState, get_backend
from trackrun.jobs.backends.slurm import MARKER_TIMEOUT, NOT_VISIBLE, USED_MARKER, SlurmBackend
from trackrun.layout import ACTIVE_STATUSES, RunPaths, StorePaths, write_json_atomic
from trackrun.store import Store

#: A running SLURM run whose newest event is older than this (seconds) is asked about.
STALE_AFTER = float(os.environ.get("TRACKRUN_SLURM_STALE_AFTER", str(3 * HEARTBEAT_INTERVAL)))

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
    "PREEMPTED": ("failed", "SLURM preempted the job (PREEMPTED) and no --retries are left"),
    "NODE_FAIL": ("failed", "the job's compute node failed (NODE_FAIL) and no --retries are left"),
    "BOOT_FAIL": ("failed", "the job's compute node failed to boot (BOOT_FAIL)"),
    "DEADLINE": ("failed", "SLURM cancelled the job at its deadline (DEADLINE)"),
}
_RESUBMIT = frozenset({"PREEMPTED", "NODE_FAIL"})
#: Seconds between two background passes (the Jupyter server's drainer).
RECONCILE_EVERY = float(os.environ.get("TRACKRUN_RECONCILE_EVERY", "15"))

log = logging.getLogger("trackrun.jobs")
_background: dict[Path, _Worker] = {}
_background_lock = threading.Lock()
_stores: dict[Path, Store] = {}


def reconcile(store: Store, now: float | None = None) -> dict[str, JobState]:
    """Ask SLURM about the store's queued runs and its running runs whose heartbeats
    stopped; record the outcome of those SLURM saw end. Returns what SLURM said, by run id.

    Never raises for a SLURM problem: an unreachable controller is recorded as the runs'
    state detail and the runs stay as they are.
    """
    if not (store.root / USED_MARKER).exists():
        return {}  # this store never sent a run to SLURM
    rows = store.sql(
        "SELECT run_id, status, last_event_at FROM runs WHERE status IN ('queued', 'running')"
    ).to_dicts()
    now = now or time.time()
    answers: dict[str, JobState] = {}
    backend: SlurmBackend | None = None
    for row in rows:
        run = store.paths.run(str(row["run_id"]))
        handle = Handle.load(run)
        if handle is None or handle.backend != SlurmBackend.name:
            continue
        last = row.get("last_event_at")
        fresh = isinstance(last, (int, float)) and now - last <= STALE_AFTER
        if row["status"] == "running" and fresh:
            continue
        backend = backend or SlurmBackend(store.paths)
        state = backend.state(handle)
        save_state(run, state)
        answers[run.run_id] = state
        if state.phase == "running" and row["status"] == "queued":
            _check_started(store, backend, run, handle, state)
        elif state.phase in ("ended", "gone"):
            _judge(store, backend, run, handle, state)
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
    handle. With ``ask``, asks SLURM now while the run is active; without (the server, whose
    drainer reconciles in the background), reports the last answer saved."""
    run = store.paths.run(run_id)
    handle = Handle.load(run)
    if handle is None:
        return None
    info: dict[str, Any] = {"backend": handle.backend, **handle.ident}
    if handle.backend != SlurmBackend.name:
        return info
    saved = load_state(run)
    active = store.summary(run_id)["status"] in ACTIVE_STATUSES
    if ask and (active or not saved or saved.get("phase") not in ("ended", "gone")):
        state = get_backend(handle.backend, store.paths).state(handle)
        save_state(run, state)
    saved = load_state(run)
    if saved:
        info.update({k: v for k, v in saved.get("extra", {}).items() if v is not None})
        info["state"] = saved.get("detail")
        info["phase"] = saved.get("phase")
    return info


def save_state(run: RunPaths, state: JobState) -> None:
    """Remember what the backend said of ``run`` (``job/slurm-state.json``)."""
    write_json_atomic(run.job / "slurm-state.json", {**asdict(state), "checked_at": time.time()})


def load_state(run: RunPaths) -> dict[str, Any] | None:
    """What the backend said last of ``run``, or None."""
    try:
        data: dict[str, Any] = json.loads((run.job / "slurm-state.json").read_text("utf-8"))
        return data
    except (OSError, ValueError):
        return None


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
    _final_record(handle, state)
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
        backend.resubmit(run, handle)
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


def _final_record(handle: Handle, state: JobState) -> None:
    # squeue knows the end state but not the exit code: the final record (sacct) has both.
    job_id = str(handle.ident.get("job_id") or "")
    try:
        final = slurm_cli.sacct([job_id]).get(job_id)
    except slurm_cli.SlurmError:
        return
    if final is not None:
        state.phase = "ended"
        state.detail = final.state + (f", exit {final.exit_code}" if final.exit_code else "")
        state.extra.update(slurm_state=final.state, exit_code=final.exit_code, source="sacct")


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
