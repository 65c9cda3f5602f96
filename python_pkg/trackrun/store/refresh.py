"""Refreshing the index from the run directories: what a scan found changed is ingested and
what it found removed is deleted, a first look compares every run folder with the index, and
runs whose process died are marked lost.

A ``Refresher`` owns what its Store's process last saw of the store (freshness.Snapshot);
the Store decides when to refresh, under its lock and on a connection it holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackrun.events import append_event
from trackrun.layout import TERMINAL_STATUSES, StorePaths
from trackrun.store.freshness import (
    Plan,
    RunState,
    Signature,
    Snapshot,
    dir_signature,
    file_sizes,
    scan,
    stat_dirs,
)
from trackrun.store.index import Index


class Refresher:
    """Brings one store's index up to date with its run directories.

    ``on_change`` is called whenever what the index answers may have changed (the Store
    then forgets its remembered answers).
    """

    def __init__(self, paths: StorePaths, index: Index, on_change: Callable[[], None]) -> None:
        self.paths = paths
        self.index = index
        self._on_change = on_change
        self._snapshot = Snapshot()
        #: The index epoch of the answers given since the last on_change().
        self._epoch = -1

    # -- what this process saw ------------------------------------------------------------
    def scan(self) -> Plan:
        """What changed in the run directories since this process last looked (stats only)."""
        return scan(self._snapshot, self.paths)

    def settle(self, plan: Plan) -> None:
        """Record that the index already reflects what ``plan`` saw."""
        self._snapshot.settle(plan)

    @property
    def has_looked(self) -> bool:
        """True once a first look compared the run directories with the current index."""
        return self._snapshot.generation >= 0

    def knows(self, run_id: str) -> bool:
        """True when the index holds ``run_id``, as of the last refresh."""
        return run_id in self._snapshot.states

    def reset(self) -> None:
        """Forget everything seen: the next refresh is a first look (a new index)."""
        self._snapshot = Snapshot()

    def forget(self, run_ids: list[str]) -> None:
        """These runs left the index and ``runs/``: a folder of the same id that appears
        later is ingested afresh."""
        for run_id in run_ids:
            self._snapshot.forget(run_id)
            self._snapshot.present.discard(run_id)

    # -- bringing the index up to date ----------------------------------------------------
    def refresh(self, con: Any, plan: Plan) -> None:
        """Bring the index up to date with ``plan`` (or, on a first look, with every run)."""
        if self.index.epoch != self._epoch:
            # A new index file, or another process wrote to it since this one let go.
            self._on_change()
            self._epoch = self.index.epoch
        snap = self._snapshot
        if snap.generation != self.index.generation:
            self._on_change()
            self._first_look(con, plan)
            return
        if plan.removed:
            _delete_from_index(con, sorted(plan.removed))
            for run_id in plan.removed:
                snap.forget(run_id)
            self._on_change()
        if plan.changed:
            self.ingest(con, list(plan.changed))
            snap.signatures.update(plan.changed)
        snap.settle(plan)
        if plan.suspects:
            self._mark_lost(con, plan.suspects)

    def ingest(self, con: Any, run_ids: list[str]) -> None:
        """Ingest what is new in the files of ``run_ids``."""
        from trackrun.store.ingest import ingest_run_rows  # not needed by a query with nothing new

        rows = ingest_run_rows(con, self.paths, run_ids)
        if rows:
            for run_id, row in rows.items():
                self._snapshot.set_state(run_id, RunState.of(row))
            self._on_change()
        # Files that changed but gave this process nothing new to ingest: another process
        # ingested them first, so what this process remembers of those runs may be stale.
        stale = [r for r in run_ids if r not in rows and r in self._snapshot.states]
        if stale:
            self._reload_states(con, stale)

    def _first_look(self, con: Any, plan: Plan) -> None:
        """Compare every run directory with what the index holds (one query, stats only).

        A run is read again when an event file is larger than its ingested byte offset, or
        when its directory may hold an event file the index has not seen (the run has not
        ended, or its directory changed after the run's last indexed event). An ended, quiet
        run whose directory has not changed since is trusted without stat'ing its files: a
        late writer of an ended run (a kill, a tag, marking it lost) ingests what it wrote.
        """
        snap = self._snapshot = Snapshot(generation=self.index.generation)
        states: dict[str, RunState] = {}
        ingested: dict[str, dict[str, int]] = {}
        for run_id, status, last, host, pid, proc_start, name, offset in con.execute(
            "SELECT r.run_id, r.status, r.last_event_at, r.host, r.pid, r.proc_start, "
            "o.file, o.byte_offset FROM runs r LEFT JOIN ingest_offsets o USING (run_id)"
        ).fetchall():
            if run_id not in states:
                states[run_id] = RunState(status, last, host, pid, proc_start)
                ingested[run_id] = {}
            if name is not None:
                ingested[run_id][name] = offset
        removed = set(states) - plan.present
        if removed:
            _delete_from_index(con, sorted(removed))
            for run_id in removed:
                del states[run_id]
        snap.states = states
        snap.watch = set(plan.present)  # the quiet ones are taken out below
        snap.running = {r for r, state in states.items() if state.status == "running"}
        now = time.time()
        runs = str(self.paths.runs)
        changed: dict[str, Signature | None] = {}
        signatures = snap.signatures
        prestat = plan.prestat or stat_dirs(runs, plan.present)
        for run_id in plan.present:
            state = states.get(run_id)
            mtime = prestat.get(run_id)
            if state is None or mtime is None:
                changed[run_id] = dir_signature(runs, run_id, None, now)
                continue
            offsets = ingested[run_id]
            last = state.last_event_at
            settled = last is not None and mtime <= last * 1e9
            if settled and state.quiet(now):
                signatures[run_id] = (mtime, tuple(sorted(offsets.items())))
                snap.watch.discard(run_id)
                continue
            if settled and state.status in TERMINAL_STATUSES:
                signature: Signature | None = (mtime, file_sizes(runs, run_id, sorted(offsets)))
            else:
                signature = dir_signature(runs, run_id, None, now)
            if signature is None or dict(signature[1]) != offsets:
                changed[run_id] = signature
            else:
                signatures[run_id] = signature
        if changed:
            self.ingest(con, list(changed))
            signatures.update(changed)
        snap.present = plan.present
        snap.runs_dir_mtime = plan.runs_dir_mtime
        snap.changes = plan.changes
        snap.full_scan_at = time.monotonic()
        suspects = [r for r in snap.running if snap.states[r].lost()]
        if suspects:
            self._mark_lost(con, suspects)

    def _reload_states(self, con: Any, run_ids: list[str]) -> None:
        for run_id, status, last, host, pid, proc_start in con.execute(
            "SELECT run_id, status, last_event_at, host, pid, proc_start FROM runs "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [run_ids],
        ).fetchall():
            self._snapshot.set_state(run_id, RunState(status, last, host, pid, proc_start))

    def _mark_lost(self, con: Any, suspects: list[str]) -> None:
        # A process may write its final status and exit between our read and our check:
        # read its (now final) files again before calling it lost. Another process may have
        # ingested that status already (then ours finds nothing new): ingest then reloads
        # the run from the index, so it is judged by what the index says now.
        self.ingest(con, suspects)
        self._on_change()
        states = self._snapshot.states
        lost = [r for r in suspects if r in states and states[r].lost()]
        # A run a cluster scheduler owns is judged by jobs.reconcile, which asks SLURM.
        scheduled = [r for r in lost if _on_scheduler(self.paths.run(r).job)]
        lost = [r for r in lost if r not in scheduled]
        self._snapshot.running.difference_update(scheduled)
        for run_id in lost:
            append_event(
                self.paths.run(run_id).events_of("observer"),
                "status",
                status="lost",
                error="the run's process ended without recording an outcome "
                "(killed with SIGKILL, out of memory, or the machine restarted)",
            )
        if lost:
            self.ingest(con, lost)


def _on_scheduler(job: Path) -> bool:
    """True when the run's jobs handle names a scheduler backend (SLURM), not this host."""
    try:
        return '"backend": "slurm"' in (job / "handle.json").read_text(encoding="utf-8")
    except OSError:
        return False


def _delete_from_index(con: Any, run_ids: list[str]) -> None:
    # Imported here: the row writers pull in the point readers (~15 ms), which a query on
    # an unchanged store never needs.
    from trackrun.store.rows import delete_from_index

    delete_from_index(con, run_ids)
