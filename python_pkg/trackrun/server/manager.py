"""The logic behind the REST API: answers as JSON-ready dicts, built on the Store."""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from trackrun.errors import TrackrunError
from trackrun.ids import check_run_id
from trackrun.layout import RunPaths
from trackrun.server import schemas as s
from trackrun.server.changes import SIGNATURES_SQL, ChangeFeed, signatures
from trackrun.server.reproductions import Reproductions
from trackrun.server.requests import RequestError
from trackrun.server.run_detail import read_run_detail
from trackrun.server.run_files import SERVED_FOLDERS, FileNotInRunError, open_in_run, read_log_slice
from trackrun.server.run_rows import run_row
from trackrun.server.sweep_lines import grouped_page
from trackrun.server.sweeps import Sweeps
from trackrun.store import Store
from trackrun.store.filters import compile_filter
from trackrun.table import Table, jsonable
from trackrun.values import check_note, check_run_name, normalize_tags

MAX_RUNS_PAGE = 10_000
DEFAULT_RUNS_PAGE = 200
#: Most names of each kind GET keys answers (a completion list, not an export).
MAX_KEYS = 5000
#: Beyond this many changed rows, the change feed asks the client to refetch its window.
MAX_CHANGED_ROWS = 500


class RunsManager:
    """Everything the handlers need, over one Store. Methods are blocking (call them from a
    worker thread) and return JSON-ready values (non-finite floats as strings)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sweeps = Sweeps(store)
        self._feed = ChangeFeed()
        #: Reproductions started from the API (POST runs/{id}/reproduce), by run id.
        self.reproductions = Reproductions(store)

    # -- listing --------------------------------------------------------------------------
    def change_token(self) -> str:
        """A token that changes whenever anything visible in the store changes."""
        cheap = getattr(self.store, "change_token", None)
        if cheap is not None:  # the store's own counter: no DuckDB for an unchanged store
            return str(cheap())
        with self.store.connection() as con:
            row = con.execute(
                "SELECT count(*), max(last_event_at), max(status_at), "
                "(SELECT count(*) FROM tags) FROM runs"
            ).fetchone()
        return "-".join(str(v) for v in row)

    def remember(self, token: str) -> None:
        """Snapshot every run's state under ``token`` (once per token), for the change feed.

        Call it right after reading ``token``: see ChangeFeed for why that order is safe.
        """
        if self._feed.knows(token):
            return
        with self.store.connection() as con:
            columns = con.execute(SIGNATURES_SQL).fetchnumpy()
        self._feed.remember(token, signatures(columns))

    def changes(self, since: str, token: str, filter_text: str | None = None) -> s.Changes:
        """The rows changed and the ids deleted from ``since`` to ``token`` (see s.Changes).

        With ``filter_text``, only the changed rows matching it are sent; the other changed
        ids are listed as ``unmatched``. Raises FilterError (400) for an invalid filter.
        """
        if filter_text and filter_text.strip():
            # Checked alone first: once it parses as a whole, wrapping it in parentheses
            # and adding the id test below cannot change what it means.
            compile_filter(filter_text)
        else:
            filter_text = None
        self.remember(token)
        answer: s.Changes = {
            "change_token": token,
            "reset": False,
            "runs": [],
            "deleted": [],
            "unmatched": [],
        }
        if since == token:
            return answer
        diff = self._feed.diff(since, token)
        if diff is None or len(diff[0]) > MAX_CHANGED_ROWS:
            answer["reset"] = True
            return answer
        changed, answer["deleted"] = diff
        if changed:
            query = _ids_filter(changed)
            if filter_text is not None:
                query = f"({filter_text}) and {query}"
            rows = self.store.runs(query, limit=len(changed))
            wanted = set(changed)
            answer["runs"] = [run_row(row) for row in rows if row["run_id"] in wanted]
            matched = {row["run_id"] for row in answer["runs"]}
            answer["unmatched"] = [run_id for run_id in changed if run_id not in matched]
        return answer

    def list_runs(
        self,
        filter_text: str | None,
        order_by: str | None,
        limit: int | None,
        offset: int,
        change_token: str,
        group_sweeps: bool = False,
        expand: list[str] | None = None,
    ) -> s.RunsPage:
        """A window of the run list: ``limit`` rows from ``offset``, and the filtered total;
        with ``group_sweeps``, of its lines (see s.RunsPage and sweep_lines.grouped_lines)."""
        self.remember(change_token)
        limit = DEFAULT_RUNS_PAGE if limit is None else max(0, min(limit, MAX_RUNS_PAGE))
        offset = max(0, offset)
        if group_sweeps:
            page = grouped_page(self.store, filter_text, order_by, limit, offset, expand or [])
            if page is not None:
                return {**page, "change_token": change_token}
        table = self.store.runs(filter_text, order_by, limit, offset)
        total = len(table) + offset
        # A full window may have more after it; an empty one past the end says nothing.
        if len(table) == limit or (not table and offset):
            total = self.store.count(filter_text)
        return {
            "runs": [run_row(row) for row in table],
            "sweep_lines": [],
            "total": total,
            "offset": offset,
            "limit": limit,
            "change_token": change_token,
        }

    def filter_keys(self) -> s.FilterKeys:
        """Every params key, metric key and tag in the store, sorted (MAX_KEYS of each)."""
        with self.store.connection() as con:
            names = [
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL "
                        f"ORDER BY {column} LIMIT {MAX_KEYS}"
                    ).fetchall()
                ]
                for table, column in (("params", "key"), ("metric_summary", "key"), ("tags", "tag"))
            ]
        return {"params": names[0], "metrics": names[1], "tags": names[2]}

    def running_counts(self) -> dict[str, int]:
        with self.store.connection() as con:
            rows = con.execute(
                "SELECT status, count(*) FROM runs WHERE status IN ('running', 'queued') GROUP BY status"
            ).fetchall()
        counts = dict(rows)
        return {"running": int(counts.get("running", 0)), "queued": int(counts.get("queued", 0))}

    # -- one run --------------------------------------------------------------------------
    def run_detail(self, run_id: str) -> s.RunDetail:
        """``GET runs/{run_id}`` (see run_detail.read_run_detail)."""
        return read_run_detail(self.store, run_id, self.reproductions)

    def metric_series(self, run_id: str, keys: list[str] | None, max_points: int) -> s.MetricSeries:
        history = self.store.metrics([check_run_id(run_id)], keys, max_points=max_points)
        series: dict[str, dict[str, list[Any]]] = {}
        for key, step, value, wall in zip(
            history["key"], history["step"], history["value"], history["wall_time"], strict=True
        ):
            entry = series.setdefault(key, {"steps": [], "values": [], "wall_times": []})
            entry["steps"].append(step)
            entry["values"].append(value)
            entry["wall_times"].append(wall)
        return {"run_id": run_id, "series": cast(dict[str, s.SeriesPoints], jsonable(series))}

    def chart(self, run_ids: list[str], keys: list[str] | None, max_points: int) -> dict[str, Any]:
        from trackrun.charts import metric_curves

        ids = [check_run_id(r) for r in run_ids]
        history = self.store.metrics(ids, keys, max_points=max_points)
        names = {
            row["run_id"]: row["name"] for row in self.store.runs(_ids_filter(ids), limit=len(ids))
        }
        spec: dict[str, Any] = metric_curves(history, names, keys, max_points).to_dict()
        return spec

    def log_slice(self, run_id: str, offset: int, max_bytes: int) -> s.LogChunk:
        """The log from ``offset`` (negative: from the end); reads only what it returns."""
        paths = self.store.paths.run(check_run_id(run_id))
        status = self.store.summary(run_id)["status"]
        return read_log_slice(paths, offset, max_bytes, status)

    def open_run_file(self, run_id: str, folder: str, name: str) -> BinaryIO:
        """Open ``<run>/<folder>/<name>`` for reading; the caller closes it.

        The file must be a regular file directly inside the real run folder: the run folder,
        the sub-folder and the file are each opened relative to the one above without
        following symlinks, so no symlink (and no swap of one mid-way) leads outside.
        Raises FileNotInRunError (404) for anything else, saying nothing of what is there.
        """
        if folder not in SERVED_FOLDERS:
            raise FileNotInRunError(f"no file {name!r} in this run's {folder}/")
        return open_in_run(self.store.paths.runs, run_id, [folder], name)

    # -- comparisons ----------------------------------------------------------------------
    def compare(self, run_ids: list[str]) -> s.Comparison:
        from trackrun.codediff import diff
        from trackrun.comparison import compare

        ids = [check_run_id(r) for r in run_ids]
        if len(ids) < 2:
            raise TrackrunError("compare needs at least two run ids: ?ids=ID1,ID2")
        comparison = compare(ids, store=self.store)
        answer: dict[str, Any] = {
            "runs": [run_row(row) for row in self.store.runs(_ids_filter(ids), limit=len(ids))],
            "params_diff": _table(comparison.params_diff),
            "params_all": _table(comparison.params_all),
            "summary": _table(comparison.summary),
            "chart": comparison.chart.to_dict(),
            "code_diff": None,
            "packages": [],
        }
        code = diff(ids[0], ids[1], store=self.store)
        answer["code_diff"] = {"cell": code.cell, "notebook": code.notebook}
        answer["packages"] = [list(p) for p in code.packages]
        return cast(s.Comparison, jsonable(answer))

    # -- changes --------------------------------------------------------------------------
    def kill(self, run_id: str) -> s.Killed:
        from trackrun import jobs

        jobs.kill(self.store, check_run_id(run_id))
        return {"run_id": run_id, "status": self.store.summary(run_id)["status"]}

    def delete(self, run_id: str, force: bool) -> s.Deleted:
        from trackrun.store.gc import trash_runs

        trash_runs(self.store, [check_run_id(run_id)], force=force)
        return {"run_id": run_id, "deleted": True}

    def trash_list(self) -> s.TrashList:
        from trackrun.store.gc import list_trash

        return {"runs": cast(list[s.TrashedRun], list_trash(self.store))}

    def restore(self, run_id: str) -> s.Restored:
        from trackrun.store.gc import restore_run

        restore_run(self.store, check_run_id(run_id))
        return {"run_id": run_id, "restored": True}

    def delete_forever(self, run_id: str) -> s.Deleted:
        from trackrun.store.gc import delete_forever

        delete_forever(self.store, check_run_id(run_id))
        return {"run_id": run_id, "deleted": True}

    def set_tags(self, run_id: str, add: list[str], remove: list[str]) -> s.Tags:
        check_run_id(run_id)
        self.store.summary(run_id)  # 404 for an unknown run
        tags = {"add": normalize_tags(add), "remove": normalize_tags(remove)}
        self.store.append_api_events([(run_id, "tags", tags)])
        return {"run_id": run_id, "tags": self.store.summary(run_id)["tags"]}

    def edit_run(self, run_id: str, name: str | None, note: str | None) -> s.RunDetail:
        """Rename the run and/or set its note (both checked before either is written);
        answers the run as GET does. Raises InvalidTextError (400), RunNotFoundError (404)."""
        check_run_id(run_id)
        if name is None and note is None:
            raise RequestError(
                'the request body names nothing to change: send {"name": ...}, {"note": ...} or both'
            )
        edits: list[tuple[str, str, dict[str, Any]]] = []
        if name is not None:
            edits.append((run_id, "rename", {"name": check_run_name(name)}))
        if note is not None:
            edits.append((run_id, "note", {"note": check_note(note)}))
        self.store.summary(run_id)  # 404 for an unknown run, before anything is written
        self.store.append_api_events(edits)
        return self.run_detail(run_id)

    def rerun(self, run_id: str, overrides: dict[str, Any]) -> RunPaths:
        """Copy a detached run's frozen job into a new queued run (params overridden)."""
        from trackrun import jobs

        self.store.summary(run_id)  # 404 for an unknown run
        return jobs.clone(self.store.paths, check_run_id(run_id), overrides)


def _table(table: Table) -> dict[str, Any]:
    return {"columns": table.column_names, "rows": [list(r.values()) for r in table]}


def _ids_filter(ids: list[str]) -> str:
    # Run ids are validated against the id pattern, so they are safe inside quotes.
    return "id in (" + ", ".join(f'"{check_run_id(r)}"' for r in ids) + ")"
