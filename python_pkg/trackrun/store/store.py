"""The Store: one run store on disk, kept current in its index before every query."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrun import liveness
from trackrun.events import append_event
from trackrun.layout import TERMINAL_STATUSES, StorePaths, default_store_root
from trackrun.store import query
from trackrun.store.index import Index
from trackrun.store.ingest import ingest_runs
from trackrun.table import Table

#: A terminal run whose last event is older than this (seconds) is not re-checked for new data.
QUIET_AFTER = 60.0


@dataclass
class _Snapshot:
    """What this process last saw of the run directories (to skip unchanged ones)."""

    generation: int = -1
    runs_dir_mtime: int | None = None
    present: set[str] = field(default_factory=set)
    signatures: dict[str, tuple[tuple[str, int, int], ...]] = field(default_factory=dict)
    quiet: set[str] = field(default_factory=set)
    quiet_checked_at: float = float("-inf")


class Store:
    """A run store at ``root`` (default: ``$TRACKRUN_HOME``, else ``.trackrun/`` at the git root).

    Every read goes through ``connection()``, which first ingests whatever run directories
    changed since this process last looked, and marks runs whose process died as lost.
    """

    def __init__(
        self, root: str | os.PathLike[str] | None = None, lease: float | None = None
    ) -> None:
        self.paths = StorePaths(Path(root).expanduser().resolve() if root else default_store_root())
        self.index = Index(self.paths) if lease is None else Index(self.paths, lease=lease)
        self._snapshot = _Snapshot()
        self._refresh_lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self.paths.root

    def __repr__(self) -> str:
        return f"<trackrun.Store {self.root}>"

    @contextlib.contextmanager
    def connection(self, refresh: bool = True) -> Iterator[Any]:
        """Yield an index connection that reflects every run directory as of now."""
        with self.index.connection() as con:
            if refresh:
                self._refresh(con)
            yield con

    def close(self) -> None:
        """Release the index now (it is released on its own after a short lease too)."""
        self.index.close()

    # -- reads ----------------------------------------------------------------------------
    def runs(
        self,
        filter: str | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Table:
        """Runs matching ``filter`` (the filter language), flat with params and metric summaries."""
        with self.connection() as con:
            return query.list_runs(con, filter, order_by, limit, offset)

    def count(self, filter: str | None = None) -> int:
        """How many runs match ``filter``."""
        with self.connection() as con:
            return query.count_runs(con, filter)

    def resolve(self, text: str) -> str:
        """Full run id for an id, unique prefix or unique name (RunNotFoundError otherwise)."""
        with self.connection() as con:
            return query.resolve_run_id(con, text)

    def summary(self, run: str) -> dict[str, Any]:
        """Index facts of one run (row, params, tags, metric summary, artifacts)."""
        with self.connection() as con:
            return query.run_summary(con, query.resolve_run_id(con, run))

    def metrics(
        self, runs: str | list[str], keys: list[str] | None = None, max_points: int | None = None
    ) -> Table:
        """Long-format metric history of ``runs`` (ids, prefixes or names)."""
        names = [runs] if isinstance(runs, str) else list(runs)
        with self.connection() as con:
            ids = [query.resolve_run_id(con, r) for r in names]
            return query.metric_history(con, ids, keys, max_points)

    def sql(self, text: str, params: list[Any] | None = None) -> Table:
        """Run ad-hoc SQL over the index (local use only; the index is read-write)."""
        with self.connection() as con:
            cursor = con.execute(text, params or [])
            if cursor.description is None:
                return Table({})
            names = [d[0] for d in cursor.description]
            return Table.from_rows(names, cursor.fetchall())

    # -- maintenance ----------------------------------------------------------------------
    def reindex(self) -> int:
        """Rebuild the index from the run directories; returns the number of runs indexed."""
        with self.index.connection() as con:
            self.index.recreate()
        self._snapshot = _Snapshot()
        with self.connection() as con:
            return query.count_runs(con, None)

    def ingest(self, run_ids: list[str]) -> None:
        """Ingest the given runs now (after this process changed their files)."""
        with self.index.connection() as con:
            ingest_runs(con, self.paths, run_ids)

    # -- refresh --------------------------------------------------------------------------
    def _refresh(self, con: Any) -> None:
        with self._refresh_lock:
            snap = self._snapshot
            if snap.generation != self.index.generation:
                snap = self._snapshot = _Snapshot(generation=self.index.generation)
            if time.monotonic() - snap.quiet_checked_at > QUIET_AFTER / 2:
                snap.quiet = self._quiet_runs(con)
                snap.quiet_checked_at = time.monotonic()
            # Signatures are taken before reading, so bytes appended meanwhile count as new.
            changed = self._changed_dirs(con, snap)
            if changed:
                ingest_runs(con, self.paths, list(changed))
                snap.signatures.update(changed)
            self._mark_lost(con)

    def _quiet_runs(self, con: Any) -> set[str]:
        terminal = sorted(TERMINAL_STATUSES)
        rows = con.execute(
            "SELECT run_id FROM runs WHERE status IN (SELECT unnest(?::VARCHAR[])) "
            "AND last_event_at < ?",
            [terminal, time.time() - QUIET_AFTER],
        ).fetchall()
        return {r[0] for r in rows}

    def _changed_dirs(
        self, con: Any, snap: _Snapshot
    ) -> dict[str, tuple[tuple[str, int, int], ...]]:
        try:
            mtime = os.stat(self.paths.runs).st_mtime_ns
        except FileNotFoundError:
            return {}
        if mtime != snap.runs_dir_mtime:
            present = {e.name for e in os.scandir(self.paths.runs) if e.is_dir()}
            removed = snap.present - present if snap.runs_dir_mtime is not None else set()
            if snap.runs_dir_mtime is None:
                indexed = {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
                removed = indexed - present
            if removed:
                delete_from_index(con, sorted(removed))
                for run_id in removed:
                    snap.signatures.pop(run_id, None)
                    snap.quiet.discard(run_id)
            snap.present = present
            snap.runs_dir_mtime = mtime
        changed = {}
        for run_id in snap.present:
            if run_id in snap.quiet:
                continue
            signature = _signature(self.paths, run_id)
            if snap.signatures.get(run_id) != signature:
                changed[run_id] = signature
        return changed

    def _mark_lost(self, con: Any) -> None:
        suspects = self._running_but_dead(con, None)
        if not suspects:
            return
        # A process may write its final status and exit between our read and our check:
        # read its (now final) files again before calling it lost.
        ingest_runs(con, self.paths, suspects)
        lost = self._running_but_dead(con, suspects)
        for run_id in lost:
            append_event(
                self.paths.run(run_id).events_of("observer"),
                "status",
                status="lost",
                error="the run's process ended without recording an outcome "
                "(killed with SIGKILL, out of memory, or the machine restarted)",
            )
        if lost:
            ingest_runs(con, self.paths, lost)

    def _running_but_dead(self, con: Any, among: list[str] | None) -> list[str]:
        sql = (
            "SELECT run_id, host, pid, proc_start, last_event_at FROM runs WHERE status = 'running'"
        )
        args: list[Any] = []
        if among is not None:
            sql += " AND run_id IN (SELECT unnest(?::VARCHAR[]))"
            args.append(among)
        return [
            run_id
            for run_id, host, pid, proc_start, last in con.execute(sql, args).fetchall()
            if liveness.is_lost(host, pid, proc_start, last)
        ]


def _signature(paths: StorePaths, run_id: str) -> tuple[tuple[str, int, int], ...]:
    out = []
    try:
        for entry in os.scandir(paths.runs / run_id):
            if entry.name.startswith("events") or entry.name == "run.json":
                st = entry.stat()
                out.append((entry.name, st.st_size, st.st_mtime_ns))
    except FileNotFoundError:
        return ()
    return tuple(sorted(out))


def delete_from_index(con: Any, run_ids: list[str]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (
            "runs",
            "params",
            "tags",
            "metrics",
            "metric_summary",
            "artifacts",
            "ingest_offsets",
        ):
            con.execute(
                f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [run_ids]
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
