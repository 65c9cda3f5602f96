"""The Store: one run store on disk, kept current in its index before every query."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

# The index module first: importing it starts creating the DuckDB instance in the
# background, which then overlaps with importing the query modules below.
from trackrun.store.index import Index

# isort: split
from trackrun.store.diagnosis import check_read_only, disk_full_error, is_damage, is_disk_full

# isort: split
from trackrun.errors import StoreError
from trackrun.events import append_event
from trackrun.ids import is_run_id
from trackrun.layout import StorePaths, default_store_root
from trackrun.store import query
from trackrun.store.answers import Answers
from trackrun.store.gcpause import collector_paused
from trackrun.store.refresh import Refresher
from trackrun.table import Table

_T = TypeVar("_T")


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
        self._lock = threading.RLock()
        self._answers = Answers()
        self._refresher = Refresher(self.paths, self.index, self._forget_answers)
        #: Tells this Store's tokens from those of another (a restarted server).
        self._token_prefix = os.urandom(4).hex()

    @property
    def root(self) -> Path:
        return self.paths.root

    def __repr__(self) -> str:
        return f"<trackrun.Store {self.root}>"

    @contextlib.contextmanager
    def connection(self, refresh: bool = True) -> Iterator[Any]:
        """Yield an index connection that reflects every run directory as of now.

        The caller may change the index through it: remembered answers are dropped when the
        index files changed meanwhile (DuckDB writes its WAL on every commit). A damaged index
        is set aside and rebuilt: before the block runs, transparently; if the block itself
        finds the damage, the error is raised after the index was set aside.
        """
        with self._lock:
            if refresh:
                self._mending(self._refresh_now)
            with self.index.connection() as con:
                before = self.index.stamp()
                try:
                    yield con
                except Exception as error:
                    if is_damage(error, str(self.paths.index)):
                        self._mend(error)
                    if is_disk_full(error):
                        raise disk_full_error(str(self.paths.index), error) from error
                    raise
                finally:
                    if self.index.stamp() != before:
                        self._forget_answers()

    def _refresh_now(self) -> None:
        with self.index.connection() as con, collector_paused():
            self._refresher.refresh(con, self._refresher.scan())

    def _mending(self, action: Callable[[], _T]) -> _T:
        """``action()``; when it finds the index damaged, set the index aside and run it once
        more against a new index rebuilt from the run directories."""
        try:
            return action()
        except Exception as error:
            if is_disk_full(error):
                raise disk_full_error(str(self.paths.index), error) from error
            if not is_damage(error, str(self.paths.index)):
                raise
            self._mend(error)
        return action()

    def _mend(self, error: BaseException) -> None:
        self.index.set_aside(error)
        self._refresher.reset()
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

    def change_token(self) -> str:
        """An opaque token that changes whenever what the store shows may have changed: a
        run added, removed or grown, a run found dead, another process writing the index.

        When nothing changed (the runs folder, the watched runs' event files, the store's
        ``changes.log`` and the index files all as last seen) it is answered from those
        stats alone, without opening DuckDB or taking the index lock.
        """
        with self._lock:
            plan = self._refresher.scan()
            if self._refresher.has_looked and plan.clean and not self.index.changed_elsewhere():
                self._refresher.settle(plan)
            else:

                def refresh() -> None:
                    with self.index.connection() as con:
                        self._refresher.refresh(con, plan)

                self._mending(refresh)
            return f"{self._token_prefix}-{self._answers.version}"

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

    def media(self, run: str) -> Table:
        """The images and figures of ``run`` (id, prefix or name), as a Table with columns
        ``key, step, path, width, height`` (``path`` relative to the run folder), by key then
        step. Raises RunNotFoundError."""
        table: Table = self._answer(
            ("media", run), lambda con: query.media_of_run(con, self._resolve(con, run))
        )
        return table

    def sql(self, text: str, params: list[Any] | None = None) -> Table:
        """Run one read-only statement over the index (SELECT, WITH ... SELECT, EXPLAIN, and
        DuckDB's DESCRIBE, SHOW, SUMMARIZE, FROM ...) and return its rows.

        The index is attached READ_ONLY for it, so DuckDB refuses any write however it is
        spelled. Raises StoreError for any other kind of statement, or for several.
        """
        check_read_only(text)

        def run() -> Table:
            with self.index.read_only() as con:
                try:
                    cursor = con.execute(text, params or [])
                except Exception as error:
                    if "read-only mode" not in str(error):
                        raise
                    raise StoreError(
                        f"trackrun.sql runs read-only queries; this one writes ({error})"
                    ) from None
                if cursor.description is None:
                    return Table({})
                names = [d[0] for d in cursor.description]
                return Table.from_rows(names, cursor.fetchall())

        with self._lock:
            self._mending(self._refresh_now)
            return self._mending(run)

    # -- maintenance ----------------------------------------------------------------------
    def reindex(self) -> int:
        """Rebuild the index from the run directories; returns the number of runs indexed."""
        with self._lock:
            with self.index.connection():
                self.index.recreate()
            self._refresher.reset()
            self._forget_answers()
            with self.connection() as con:
                return query.count_runs(con, None)

    def ingest(self, run_ids: list[str]) -> None:
        """Ingest the given runs now (after this process changed their files)."""

        def ingest() -> None:
            with self.index.connection() as con:
                self._refresher.ingest(con, run_ids)

        with self._lock:
            self._mending(ingest)
            self._forget_answers()

    def append_api_events(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Append ``(run_id, event type, fields)`` events to their runs' API event files, then
        ingest those runs so that the next read sees them.

        The appends hold the store's lock, which orders every appender of those files (two
        writers must not take the same sequence number).
        """
        if not events:
            return
        with self.connection(refresh=False):
            for run_id, kind, fields in events:
                append_event(self.paths.run(run_id).events_of("api"), kind, **fields)
        self.ingest(list(dict.fromkeys(run_id for run_id, _, _ in events)))

    def forget_runs(self, run_ids: list[str]) -> None:
        """Note that the caller removed these runs from the index (and their folders from
        ``runs/``): a folder of the same id that appears later is ingested afresh."""
        with self._lock:
            self._refresher.forget(run_ids)
            self._forget_answers()

    # -- answers --------------------------------------------------------------------------
    def _resolve(self, con: Any, text: str) -> str:
        run_id = text.strip()
        if is_run_id(run_id) and self._refresher.knows(run_id):
            return run_id  # a full id the index holds (just refreshed): no query needed
        return query.resolve_run_id(con, text)

    def _answer(self, key: tuple[Any, ...], compute: Callable[[Any], _T]) -> _T:
        """``compute(con)``, or a copy of its last result when nothing changed since."""
        with self._lock:
            plan = self._refresher.scan()
            if plan.clean and not self.index.changed_elsewhere():
                self._refresher.settle(plan)
                known, value = self._answers.get(key)
                if known:
                    return value  # type: ignore[no-any-return]

            def fresh() -> _T:
                with self.index.connection() as con, collector_paused():
                    self._refresher.refresh(con, plan)
                    return compute(con)

            return self._answers.put(key, self._mending(fresh))  # type: ignore[no-any-return]

    def _forget_answers(self) -> None:
        self._answers.clear()
