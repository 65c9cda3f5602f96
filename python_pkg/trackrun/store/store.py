"""The Store: one run store on disk, kept current in its index before every query."""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

# The index module first: importing it starts creating the DuckDB instance in the
# background, which then overlaps with importing the query modules below.
from trackrun.store.index import Index

# isort: split
from trackrun import liveness
from trackrun.events import append_event
from trackrun.ids import is_run_id
from trackrun.layout import TERMINAL_STATUSES, StorePaths, default_store_root
from trackrun.store import query
from trackrun.table import Table

#: An ended run whose last event is older than this (seconds) is not looked at on every
#: query, only by the periodic full scan (its writer has finished; anything that writes to
#: it later, such as marking it killed, ingests what it wrote itself).
QUIET_AFTER = 5.0
#: Seconds between scans that look at every run directory, quiet ones included.
FULL_SCAN_INTERVAL = 30.0
#: A directory modified less than this many seconds ago is listed again at the next look:
#: a file created within the same clock tick would not change its mtime.
RACY_MTIME = 2.0
#: Answers remembered per Store (LRU), and at most this many cells among them.
CACHE_ENTRIES = 64
CACHE_CELLS = 2_000_000

#: (run directory mtime in ns, ((event file name, size), ...)) as last seen.
_Signature = tuple[int, tuple[tuple[str, int], ...]]
_T = TypeVar("_T")


class _RunState:
    """What the index says of one run, as much as deciding quietness and liveness needs."""

    # A plain class, not a dataclass: one per run, and dataclasses cost ~1 ms each to define
    # when the store package is imported (which a cold query waits for).
    __slots__ = ("host", "last_event_at", "pid", "proc_start", "status")

    def __init__(
        self,
        status: str | None,
        last_event_at: float | None,
        host: str | None,
        pid: int | None,
        proc_start: str | None,
    ) -> None:
        self.status = status
        self.last_event_at = last_event_at
        self.host = host
        self.pid = pid
        self.proc_start = proc_start

    @classmethod
    def of(cls, row: dict[str, Any]) -> _RunState:
        last, pid = row.get("last_event_at"), row.get("pid")
        return cls(
            row.get("status"),
            float(last) if isinstance(last, (int, float)) else None,
            row.get("host"),
            pid if isinstance(pid, int) else None,
            row.get("proc_start"),
        )

    def quiet(self, now: float) -> bool:
        return (
            self.status in TERMINAL_STATUSES
            and self.last_event_at is not None
            and now - self.last_event_at > QUIET_AFTER
        )

    def lost(self) -> bool:
        return self.status == "running" and liveness.is_lost(
            self.host, self.pid, self.proc_start, self.last_event_at
        )


class _Snapshot:
    """What this process last saw of the run directories and of the index (to skip work)."""

    __slots__ = (
        "full_scan_at",
        "generation",
        "present",
        "running",
        "runs_dir_mtime",
        "signatures",
        "states",
        "watch",
    )

    def __init__(self, generation: int = -1) -> None:
        self.generation = generation
        self.runs_dir_mtime: int | None = None
        self.present: set[str] = set()
        self.states: dict[str, _RunState] = {}
        self.signatures: dict[str, _Signature | None] = {}
        #: Runs looked at on every scan: all but the quiet ones (so that a store of ten
        #: thousand ended runs costs a stat of its runs folder per query, not 10,000).
        self.watch: set[str] = set()
        #: Runs the index says are running (their liveness is checked on every scan).
        self.running: set[str] = set()
        self.full_scan_at = float("-inf")

    def set_state(self, run_id: str, state: _RunState) -> None:
        self.states[run_id] = state
        self.watch.add(run_id)
        if state.status == "running":
            self.running.add(run_id)
        else:
            self.running.discard(run_id)

    def forget(self, run_id: str) -> None:
        self.states.pop(run_id, None)
        self.signatures.pop(run_id, None)
        self.watch.discard(run_id)
        self.running.discard(run_id)

    def settle(self, plan: _Plan) -> None:
        """Record that the index now reflects what ``plan`` saw."""
        self.present = plan.present
        self.runs_dir_mtime = plan.runs_dir_mtime
        if plan.full:
            self.full_scan_at = time.monotonic()


class _Plan:
    """What one look at the run directories found to do in the index."""

    __slots__ = ("changed", "full", "prestat", "present", "removed", "runs_dir_mtime", "suspects")

    def __init__(self, present: set[str], runs_dir_mtime: int | None, removed: set[str]) -> None:
        self.present = present
        self.runs_dir_mtime = runs_dir_mtime
        self.removed = removed
        self.changed: dict[str, _Signature | None] = {}
        self.suspects: list[str] = []
        self.full = False
        #: On a first look: each run directory's mtime, stat'ed before the index is opened
        #: (while DuckDB may still be being created in the background).
        self.prestat: dict[str, int] = {}

    @property
    def clean(self) -> bool:
        return not (self.removed or self.changed or self.suspects)


class _Cached:
    """A remembered answer; ``nested``: Table columns whose values may be lists or dicts."""

    __slots__ = ("cells", "nested", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.nested: tuple[str, ...] = ()
        self.cells = 1


class Store:
    """A run store at ``root`` (default: ``$TRACKRUN_HOME``, else ``.trackrun/`` at the git root).

    Every read first looks at the run directories (sizes and mtimes of their event files)
    and ingests what changed since this process last looked, and marks runs whose process
    died as lost. When nothing changed, a recent answer to the same question is returned
    without opening the index at all.
    """

    def __init__(
        self, root: str | os.PathLike[str] | None = None, lease: float | None = None
    ) -> None:
        self.paths = StorePaths(Path(root).expanduser().resolve() if root else default_store_root())
        self.index = Index(self.paths) if lease is None else Index(self.paths, lease=lease)
        self._snapshot = _Snapshot()
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[Any, ...], _Cached] = OrderedDict()
        self._cache_cells = 0
        self._cache_epoch = -1

    @property
    def root(self) -> Path:
        return self.paths.root

    def __repr__(self) -> str:
        return f"<trackrun.Store {self.root}>"

    @contextlib.contextmanager
    def connection(self, refresh: bool = True) -> Iterator[Any]:
        """Yield an index connection that reflects every run directory as of now.

        The caller may change the index through it: remembered answers are dropped when the
        index files changed meanwhile (DuckDB writes its WAL on every commit).
        """
        with self._lock, self.index.connection() as con:
            if refresh:
                self._refresh(con, self._scan())
            before = self.index.stamp()
            try:
                yield con
            finally:
                if self.index.stamp() != before:
                    self._forget_answers()

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
        table: Table = self._answer(
            ("runs", filter, order_by, limit, offset),
            lambda con: query.list_runs_raw(con, filter, order_by, limit, offset),
        )
        return query.fill_live_durations(table)

    def count(self, filter: str | None = None) -> int:
        """How many runs match ``filter``."""
        count: int = self._answer(("count", filter), lambda con: query.count_runs(con, filter))
        return count

    def resolve(self, text: str) -> str:
        """Full run id for an id, unique prefix or unique name (RunNotFoundError otherwise)."""
        run_id: str = self._answer(("resolve", text), lambda con: query.resolve_run_id(con, text))
        return run_id

    def summary(self, run: str) -> dict[str, Any]:
        """Index facts of one run (row, params, tags, metric summary, artifacts)."""
        result: dict[str, Any] = self._answer(
            ("summary", run), lambda con: query.run_summary(con, self._resolve(con, run))
        )
        return result

    def metrics(
        self, runs: str | list[str], keys: list[str] | None = None, max_points: int | None = None
    ) -> Table:
        """Long-format metric history of ``runs`` (ids, prefixes or names)."""
        names = [runs] if isinstance(runs, str) else list(runs)

        def compute(con: Any) -> Table:
            ids = [self._resolve(con, r) for r in names]
            return query.metric_history(con, ids, keys, max_points)

        key = ("metrics", tuple(names), None if keys is None else tuple(keys), max_points)
        table: Table = self._answer(key, compute)
        return table

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
        with self._lock:
            with self.index.connection():
                self.index.recreate()
            self._snapshot = _Snapshot()
            self._forget_answers()
            with self.connection() as con:
                return query.count_runs(con, None)

    def ingest(self, run_ids: list[str]) -> None:
        """Ingest the given runs now (after this process changed their files)."""
        with self._lock, self.index.connection() as con:
            self._ingest(con, run_ids)
            self._forget_answers()

    # -- answers --------------------------------------------------------------------------
    def _resolve(self, con: Any, text: str) -> str:
        run_id = text.strip()
        if is_run_id(run_id) and run_id in self._snapshot.states:
            return run_id  # a full id the index holds (just refreshed): no query needed
        return query.resolve_run_id(con, text)

    def _answer(self, key: tuple[Any, ...], compute: Callable[[Any], _T]) -> _T:
        """``compute(con)``, or a copy of its last result when nothing changed since."""
        with self._lock:
            plan = self._scan()
            if plan.clean and not self.index.changed_elsewhere():
                self._snapshot.settle(plan)
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    return _copy(cached)  # type: ignore[no-any-return]
            with self.index.connection() as con:
                self._refresh(con, plan)
                value = compute(con)
            cached = _Cached(value)
            if isinstance(value, Table):
                cached.nested = tuple(
                    n for n in value.column_names if n == "tags" or n.startswith("params.")
                )
                cached.cells = len(value) * max(1, len(value.column_names))
            elif isinstance(value, dict):
                cached.cells = 1 + len(value)
            self._remember(key, cached)
            return _copy(cached)  # type: ignore[no-any-return]

    def _remember(self, key: tuple[Any, ...], cached: _Cached) -> None:
        if cached.cells > CACHE_CELLS // 4:
            return
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_cells -= old.cells
        self._cache[key] = cached
        self._cache_cells += cached.cells
        while len(self._cache) > CACHE_ENTRIES or self._cache_cells > CACHE_CELLS:
            _, dropped = self._cache.popitem(last=False)
            self._cache_cells -= dropped.cells

    def _forget_answers(self) -> None:
        self._cache.clear()
        self._cache_cells = 0

    # -- looking at the run directories ---------------------------------------------------
    def _scan(self) -> _Plan:
        """Compare the run directories with the snapshot; touches no index."""
        snap = self._snapshot
        now = time.time()
        runs = str(self.paths.runs)
        try:
            mtime = os.stat(runs).st_mtime_ns
        except FileNotFoundError:
            return _Plan(set(), None, set(snap.present))
        present = snap.present
        if mtime != snap.runs_dir_mtime or now - mtime / 1e9 < RACY_MTIME:
            present = _list_runs(runs)
        plan = _Plan(present, mtime, snap.present - present)
        if snap.generation < 0:
            # First look: _refresh compares with the index instead; stat what it will need.
            plan.prestat = _prestat(runs, present)
            return plan
        plan.full = time.monotonic() - snap.full_scan_at > FULL_SCAN_INTERVAL
        states, signatures, watch = snap.states, snap.signatures, snap.watch
        for run_id in present if plan.full else watch | (present - snap.present):
            state = states.get(run_id)
            known = signatures.get(run_id)
            if state is not None and known and state.quiet(now):
                watch.discard(run_id)
                if not plan.full:
                    continue
            else:
                watch.add(run_id)
            signature = _signature(runs, run_id, known, now)
            if signature != known or run_id not in signatures:
                plan.changed[run_id] = signature
        plan.suspects = [r for r in snap.running if r in present and states[r].lost()]
        return plan

    def _refresh(self, con: Any, plan: _Plan) -> None:
        """Bring the index up to date with ``plan`` (or, on a first look, with every run)."""
        if self.index.epoch != self._cache_epoch:
            # A new index file, or another process wrote to it since this one let go.
            self._forget_answers()
            self._cache_epoch = self.index.epoch
        snap = self._snapshot
        if snap.generation != self.index.generation:
            self._forget_answers()
            self._first_look(con, plan)
            return
        if plan.removed:
            delete_from_index(con, sorted(plan.removed))
            for run_id in plan.removed:
                snap.forget(run_id)
            self._forget_answers()
        if plan.changed:
            self._ingest(con, list(plan.changed))
            snap.signatures.update(plan.changed)
        snap.settle(plan)
        if plan.suspects:
            self._mark_lost(con, plan.suspects)

    def _first_look(self, con: Any, plan: _Plan) -> None:
        """Compare every run directory with what the index holds (one query, stats only).

        A run is read again when an event file is larger than its ingested byte offset, or
        when its directory may hold an event file the index has not seen (the run has not
        ended, or its directory changed after the run's last indexed event). An ended, quiet
        run whose directory has not changed since is trusted without stat'ing its files: a
        late writer of an ended run (a kill, a tag, marking it lost) ingests what it wrote.
        """
        snap = self._snapshot = _Snapshot(generation=self.index.generation)
        states: dict[str, _RunState] = {}
        ingested: dict[str, dict[str, int]] = {}
        for run_id, status, last, host, pid, proc_start, name, offset in con.execute(
            "SELECT r.run_id, r.status, r.last_event_at, r.host, r.pid, r.proc_start, "
            "o.file, o.byte_offset FROM runs r LEFT JOIN ingest_offsets o USING (run_id)"
        ).fetchall():
            if run_id not in states:
                states[run_id] = _RunState(status, last, host, pid, proc_start)
                ingested[run_id] = {}
            if name is not None:
                ingested[run_id][name] = offset
        removed = set(states) - plan.present
        if removed:
            delete_from_index(con, sorted(removed))
            for run_id in removed:
                del states[run_id]
        snap.states = states
        snap.watch = set(plan.present)  # the quiet ones are taken out below
        snap.running = {r for r, state in states.items() if state.status == "running"}
        now = time.time()
        runs = str(self.paths.runs)
        changed: dict[str, _Signature | None] = {}
        signatures = snap.signatures
        prestat = plan.prestat or _prestat(runs, plan.present)
        for run_id in plan.present:
            state = states.get(run_id)
            mtime = prestat.get(run_id)
            if state is None or mtime is None:
                changed[run_id] = _signature(runs, run_id, None, now)
                continue
            offsets = ingested[run_id]
            last = state.last_event_at
            settled = last is not None and mtime <= last * 1e9
            if settled and state.quiet(now):
                signatures[run_id] = (mtime, tuple(sorted(offsets.items())))
                snap.watch.discard(run_id)
                continue
            if settled and state.status in TERMINAL_STATUSES:
                signature: _Signature | None = (mtime, _sizes(runs, run_id, sorted(offsets)))
            else:
                signature = _signature(runs, run_id, None, now)
            if signature is None or dict(signature[1]) != offsets:
                changed[run_id] = signature
            else:
                signatures[run_id] = signature
        if changed:
            self._ingest(con, list(changed))
            signatures.update(changed)
        snap.present = plan.present
        snap.runs_dir_mtime = plan.runs_dir_mtime
        snap.full_scan_at = time.monotonic()
        suspects = [r for r in snap.running if snap.states[r].lost()]
        if suspects:
            self._mark_lost(con, suspects)

    def _ingest(self, con: Any, run_ids: list[str]) -> None:
        from trackrun.store.ingest import ingest_run_rows  # not needed by a query with nothing new

        rows = ingest_run_rows(con, self.paths, run_ids)
        if rows:
            for run_id, row in rows.items():
                self._snapshot.set_state(run_id, _RunState.of(row))
            self._forget_answers()
        # Files that changed but gave this process nothing new to ingest: another process
        # ingested them first, so what this process remembers of those runs may be stale.
        stale = [r for r in run_ids if r not in rows and r in self._snapshot.states]
        if stale:
            self._reload_states(con, stale)

    def _reload_states(self, con: Any, run_ids: list[str]) -> None:
        for run_id, status, last, host, pid, proc_start in con.execute(
            "SELECT run_id, status, last_event_at, host, pid, proc_start FROM runs "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
            [run_ids],
        ).fetchall():
            self._snapshot.set_state(run_id, _RunState(status, last, host, pid, proc_start))

    def _mark_lost(self, con: Any, suspects: list[str]) -> None:
        # A process may write its final status and exit between our read and our check:
        # read its (now final) files again before calling it lost. Another process may have
        # ingested that status already (then ours finds nothing new): _ingest then reloads
        # the run from the index, so it is judged by what the index says now.
        self._ingest(con, suspects)
        self._forget_answers()
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
            self._ingest(con, lost)


def _on_scheduler(job: Path) -> bool:
    """True when the run's jobs handle names a scheduler backend (SLURM), not this host."""
    try:
        return '"backend": "slurm"' in (job / "handle.json").read_text(encoding="utf-8")
    except OSError:
        return False


def _list_runs(runs: str) -> set[str]:
    try:
        return {e.name for e in os.scandir(runs) if is_run_id(e.name) and e.is_dir()}
    except FileNotFoundError:
        return set()


def _prestat(runs: str, run_ids: set[str]) -> dict[str, int]:
    """The mtime of each run directory that exists."""
    out: dict[str, int] = {}
    stat = os.stat
    for run_id in run_ids:
        try:
            out[run_id] = stat(f"{runs}/{run_id}").st_mtime_ns
        except FileNotFoundError:
            continue
    return out


def _sizes(runs: str, run_id: str, names: list[str]) -> tuple[tuple[str, int], ...]:
    """(name, size) of those of the given event files that exist."""
    sizes = []
    for name in names:
        try:
            sizes.append((name, os.stat(f"{runs}/{run_id}/{name}").st_size))
        except FileNotFoundError:
            continue
    return tuple(sizes)


def _signature(
    runs: str, run_id: str, previous: _Signature | None, now: float
) -> _Signature | None:
    """The run directory's mtime and the sizes of its event files; None if it is gone.

    The directory is listed only when its mtime changed (a file was created or removed)
    or is too recent to trust; otherwise the files seen last time are stat'ed.
    """
    folder = f"{runs}/{run_id}"
    try:
        mtime = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        return None
    if previous is not None and previous[0] == mtime and now - mtime / 1e9 > RACY_MTIME:
        names = [name for name, _ in previous[1]]
    else:
        try:
            names = sorted(
                e.name
                for e in os.scandir(folder)
                if e.name.startswith("events") and e.name.endswith(".jsonl")
            )
        except FileNotFoundError:
            return None
    return (mtime, _sizes(runs, run_id, names))


def _copy(cached: _Cached) -> Any:
    """A copy of a remembered answer that the caller may change freely."""
    value = cached.value
    if isinstance(value, Table):
        nested = cached.nested
        return Table(
            {
                name: _copy_nested(column) if name in nested else list(column)
                for name, column in value.columns.items()
            }
        )
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy_nested(column: list[Any]) -> list[Any]:
    scalars = _SCALARS
    return [
        v
        if type(v) in scalars
        else list(v)
        if type(v) is list and all(type(x) is str for x in v)
        else copy.deepcopy(v)
        for v in column
    ]


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
