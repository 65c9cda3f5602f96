"""Deleting runs safely: moving run directories to the store's trash, and emptying it.

Every function here that deletes or moves takes ``dry_run``: with it, the same checks run and
the same answer comes back, and nothing on disk or in the index changes.
"""

from __future__ import annotations

import os
import shutil
import time

from trackrun.errors import RunStateError
from trackrun.layout import ACTIVE_STATUSES, TERMINAL_STATUSES
from trackrun.store.perms import make_dir
from trackrun.store.rows import delete_from_index
from trackrun.store.store import Store


def trash_runs(
    store: Store, runs: list[str], force: bool = False, dry_run: bool = False
) -> list[str]:
    """Move the given runs (ids, prefixes or names) to ``<store>/trash/``; returns their ids.

    Raises RunStateError, before moving anything, if one of them is queued or running and
    ``force`` is False. With ``dry_run``, returns the ids it would move and moves nothing.
    """
    with store.connection() as con:
        from trackrun.store.query import resolve_run_id

        ids = [resolve_run_id(con, r) for r in runs]
        statuses = dict(
            con.execute(
                "SELECT run_id, status FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
                [ids],
            ).fetchall()
        )
        active = [r for r in ids if statuses.get(r) in ACTIVE_STATUSES]
        if active and not force:
            raise RunStateError(
                f"run {', '.join(active)} is still {statuses[active[0]]}; stop it first "
                "(`trackrun kill`) or pass --force"
            )
        if dry_run:
            return ids
        _move_to_trash(store, ids)
        delete_from_index(con, ids)
    store.forget_runs(ids)
    return ids


def select_garbage(
    store: Store, statuses: list[str] | None = None, older_than: float | None = None
) -> list[str]:
    """Ids of ended runs with one of ``statuses`` (default: failed, killed, lost) that started
    more than ``older_than`` seconds ago (None: any age). Running runs are never selected."""
    chosen = statuses or ["failed", "killed", "lost"]
    bad = [s for s in chosen if s not in TERMINAL_STATUSES]
    if bad:
        raise RunStateError(
            f"gc only removes ended runs; {', '.join(bad)} is not one of {sorted(TERMINAL_STATUSES)}"
        )
    sql = "SELECT run_id FROM runs WHERE status IN (SELECT unnest(?::VARCHAR[]))"
    args: list[object] = [chosen]
    if older_than is not None:
        sql += " AND coalesce(started_at, created_at) < ?"
        args.append(time.time() - older_than)
    with store.connection() as con:
        return [r[0] for r in con.execute(sql + " ORDER BY run_id", args).fetchall()]


def purge_trash(store: Store, dry_run: bool = False) -> list[str]:
    """Delete everything in the trash for good; returns the names of what was removed (with
    ``dry_run``: of what would be, removing nothing)."""
    trash = store.paths.trash
    if not trash.is_dir():
        return []
    names = sorted(entry.name for entry in os.scandir(trash))
    if dry_run:
        return names
    for name in names:
        path = trash / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return names


def _move_to_trash(store: Store, ids: list[str]) -> None:
    trash = store.paths.trash
    make_dir(trash, store.paths.root)
    for run_id in ids:
        source = store.paths.run(run_id).root
        target = trash / run_id
        if target.exists():
            # An earlier copy of the same run is kept too, under its time of replacement.
            os.rename(target, trash / f"{run_id}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        if source.exists():
            os.rename(source, target)
