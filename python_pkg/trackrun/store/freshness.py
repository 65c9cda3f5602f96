"""Freshness: what this process last saw of the run directories, and what changed since.

Everything here is stats (sizes and mtimes), never the index: deciding that nothing changed
must cost a few system calls, so that an unchanged store is answered without DuckDB.
"""

from __future__ import annotations

import os
import time
from typing import Any

from trackrun import liveness
from trackrun.ids import is_run_id
from trackrun.layout import TERMINAL_STATUSES, StorePaths

#: An ended run whose last event is older than this (seconds) is not looked at on every
#: query, only by the periodic full scan (its writer has finished; anything that writes to
#: it later, such as marking it killed, ingests what it wrote itself).
QUIET_AFTER = 5.0
#: Seconds between scans that look at every run directory, quiet ones included.
FULL_SCAN_INTERVAL = 30.0
#: A directory modified less than this many seconds ago is listed again at the next look:
#: a file created within the same clock tick would not change its mtime.
RACY_MTIME = 2.0
#: The store-level change counter: event writers append one byte to it on every flush.
CHANGES_LOG = "changes.log"
#: (run directory mtime in ns, ((event file name, size), ...)) as last seen.
Signature = tuple[int, tuple[tuple[str, int], ...]]


class RunState:
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
    def of(cls, row: dict[str, Any]) -> RunState:
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


class Snapshot:
    """What this process last saw of the run directories and of the index (to skip work)."""

    __slots__ = (
        "changes",
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
        #: (size, mtime) of the store's changes.log when last looked at.
        self.changes: tuple[int, int] | None = None
        self.runs_dir_mtime: int | None = None
        self.present: set[str] = set()
        self.states: dict[str, RunState] = {}
        self.signatures: dict[str, Signature | None] = {}
        #: Runs looked at on every scan: all but the quiet ones (so that a store of ten
        #: thousand ended runs costs a stat of its runs folder per query, not 10,000).
        self.watch: set[str] = set()
        #: Runs the index says are running (their liveness is checked on every scan).
        self.running: set[str] = set()
        self.full_scan_at = float("-inf")

    def set_state(self, run_id: str, state: RunState) -> None:
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

    def settle(self, plan: Plan) -> None:
        """Record that the index now reflects what ``plan`` saw."""
        self.present = plan.present
        self.runs_dir_mtime = plan.runs_dir_mtime
        self.changes = plan.changes
        if plan.full:
            self.full_scan_at = time.monotonic()


class Plan:
    """What one look at the run directories found to do in the index."""

    __slots__ = (
        "changed",
        "changes",
        "full",
        "prestat",
        "present",
        "removed",
        "runs_dir_mtime",
        "suspects",
    )

    def __init__(self, present: set[str], runs_dir_mtime: int | None, removed: set[str]) -> None:
        self.present = present
        self.runs_dir_mtime = runs_dir_mtime
        self.removed = removed
        self.changed: dict[str, Signature | None] = {}
        self.changes: tuple[int, int] | None = None
        self.suspects: list[str] = []
        self.full = False
        #: On a first look: each run directory's mtime, stat'ed before the index is opened
        #: (while DuckDB may still be being created in the background).
        self.prestat: dict[str, int] = {}

    @property
    def clean(self) -> bool:
        return not (self.removed or self.changed or self.suspects)


def scan(snap: Snapshot, paths: StorePaths) -> Plan:
    """Compare the run directories with ``snap``; touches no index (stats only)."""
    now = time.time()
    runs = str(paths.runs)
    # Before the runs: a writer that flushes after this look is seen by the next one.
    changes = _stamp(f"{paths.root}/{CHANGES_LOG}")
    try:
        mtime = os.stat(runs).st_mtime_ns
    except FileNotFoundError:
        return Plan(set(), None, set(snap.present))
    present = snap.present
    if mtime != snap.runs_dir_mtime or now - mtime / 1e9 < RACY_MTIME:
        present = list_runs(runs)
    # Unchanged runs folder: the same set object, and no set differences over every run id
    # (at 100k runs each one costs milliseconds: the sets no longer fit in the CPU cache).
    unchanged = present is snap.present
    plan = Plan(present, mtime, set() if unchanged else snap.present - present)
    plan.changes = changes
    if snap.generation < 0:
        # First look: _refresh compares with the index instead; stat what it will need.
        plan.prestat = stat_dirs(runs, present)
        return plan
    # A writer flushed since the last look (it appends a byte to changes.log on every
    # flush): look at every run, quiet ones included, not only the watched ones.
    plan.full = changes != snap.changes or time.monotonic() - snap.full_scan_at > FULL_SCAN_INTERVAL
    states, signatures, watch = snap.states, snap.signatures, snap.watch
    for run_id in (
        present if plan.full else (set(watch) if unchanged else watch | (present - snap.present))
    ):
        state = states.get(run_id)
        known = signatures.get(run_id)
        if state is not None and known and state.quiet(now):
            watch.discard(run_id)
            if not plan.full:
                continue
        else:
            watch.add(run_id)
        signature = dir_signature(runs, run_id, known, now)
        if signature != known or run_id not in signatures:
            plan.changed[run_id] = signature
    plan.suspects = [r for r in snap.running if r in present and states[r].lost()]
    return plan


def list_runs(runs: str) -> set[str]:
    try:
        # A run folder that is a symlink is not a run: what it points to is never indexed.
        return {
            e.name
            for e in os.scandir(runs)
            if is_run_id(e.name) and e.is_dir(follow_symlinks=False)
        }
    except FileNotFoundError:
        return set()


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns)


def stat_dirs(runs: str, run_ids: set[str]) -> dict[str, int]:
    """The mtime of each run directory that exists."""
    out: dict[str, int] = {}
    stat = os.stat
    for run_id in run_ids:
        try:
            out[run_id] = stat(f"{runs}/{run_id}").st_mtime_ns
        except FileNotFoundError:
            continue
    return out


def file_sizes(runs: str, run_id: str, names: list[str]) -> tuple[tuple[str, int], ...]:
    """(name, size) of those of the given event files that exist."""
    sizes = []
    for name in names:
        try:
            sizes.append((name, os.stat(f"{runs}/{run_id}/{name}").st_size))
        except FileNotFoundError:
            continue
    return tuple(sizes)


def dir_signature(
    runs: str, run_id: str, previous: Signature | None, now: float
) -> Signature | None:
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
                if e.name.startswith("events")
                and e.name.endswith(".jsonl")
                and e.is_file(follow_symlinks=False)
            )
        except FileNotFoundError:
            return None
    return (mtime, file_sizes(runs, run_id, names))
