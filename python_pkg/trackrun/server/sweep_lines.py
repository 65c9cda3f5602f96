"""The run list with each sweep's runs as one line: ``GET runs?group_sweeps=true``, and the
sweeps ``expand`` opens below their line.

A sweep's line is the row of its first run in the list's order, standing for the sweep;
which runs belong to which sweep comes from their ``sweep:<id>`` tags (``SWEEP_OF_RUN``).
Functions are blocking: the manager calls them from worker threads.
"""

from __future__ import annotations

from trackrun.server import schemas as s
from trackrun.server.run_rows import run_row
from trackrun.server.sweeps import SWEEP_OF_RUN, check_sweep_id
from trackrun.store import Store
from trackrun.store.filters import compile_filter, compile_order_by
from trackrun.table import Table


def grouped_page(
    store: Store,
    filter_text: str | None,
    order_by: str | None,
    limit: int,
    offset: int,
    expand: list[str],
) -> s.RunsPage | None:
    """``GET runs`` with each sweep's runs as one line (see s.RunsPage and ``grouped_lines``);
    None when no run is in a sweep. The caller sets ``change_token``."""
    grouped = grouped_lines(store, filter_text, order_by, limit, offset, expand)
    if grouped is None:
        return None
    lines, total = grouped
    ids = list(dict.fromkeys(run_id for run_id, _ in lines))
    # Checked run ids from the index: safe inside quotes.
    query = "id in (" + ", ".join(f'"{run_id}"' for run_id in ids) + ")"
    table = store.runs(query, limit=len(ids)) if ids else Table({})
    rows = {row["run_id"]: run_row(row) for row in table}
    # A run deleted between the two queries is left out; the change feed tells the rest.
    kept = [(rows[run_id], sweep) for run_id, sweep in lines if run_id in rows]
    return {
        "runs": [row for row, _ in kept],
        "sweep_lines": [i for i, (_, sweep) in enumerate(kept) if sweep],
        "total": total,
        "offset": offset,
        "limit": limit,
        "change_token": "",
    }


def grouped_lines(
    store: Store,
    filter_text: str | None,
    order_by: str | None,
    limit: int,
    offset: int,
    expand: list[str],
) -> tuple[list[tuple[str, bool]], int] | None:
    """Lines ``offset``..``offset + limit`` of the run list with each sweep's runs as one
    line, and the number of lines; None when no run of the store is in a sweep (then
    the plain list is the same).

    A sweep's line sits where its first run (in ``order_by`` order, among the runs
    matching ``filter_text``) would; the sweeps in ``expand`` are followed by their
    matching runs, in order. Each line is ``(run id, stands for its sweep)``. Raises
    FilterError for a malformed filter or order, InvalidSweepIdError for a bad id.
    """
    opened = [check_sweep_id(sweep_id) for sweep_id in expand]
    where, params = compile_filter(filter_text)
    order = compile_order_by(order_by)
    lines_sql = (
        "WITH m AS (SELECT r.run_id, w.sweep_id, row_number() OVER (ORDER BY "
        f"{order}) AS pos FROM runs r LEFT JOIN ({SWEEP_OF_RUN}) w "
        f"ON w.run_id = r.run_id WHERE {where}), "
        "g AS (SELECT run_id, sweep_id, pos, "
        "min(pos) OVER (PARTITION BY coalesce(sweep_id, run_id)) AS head FROM m), "
        "lines AS (SELECT run_id, sweep_id IS NOT NULL AS sweep, head, 0 AS sub, pos "
        "FROM g WHERE pos = head UNION ALL SELECT run_id, FALSE, head, 1, pos FROM g "
        "WHERE list_contains(?::VARCHAR[], sweep_id)) "
    )
    args = [*params, opened]
    with store.connection() as con:
        if con.execute(f"SELECT 1 FROM ({SWEEP_OF_RUN}) LIMIT 1").fetchone() is None:
            return None
        rows = con.execute(
            lines_sql + "SELECT run_id, sweep FROM lines ORDER BY head, sub, pos LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        total = con.execute(lines_sql + "SELECT count(*) FROM lines", args).fetchone()
    return [(run_id, bool(sweep)) for run_id, sweep in rows], int(total[0])
