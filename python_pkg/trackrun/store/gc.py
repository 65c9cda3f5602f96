"""Deleting runs safely: moving run directories to the store's trash, restoring them from it,
and emptying it.

Every function here that deletes or moves takes ``dry_run``: with it, the same checks run and
the same answer comes back, and nothing on disk or in the index changes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from trackrun.errors import RunNotFoundError, RunStateError
from trackrun.ids import check_run_id, is_run_id
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


def list_trash(store: Store) -> list[dict[str, Any]]:
    """The runs in the trash that can be restored, newest deletion first.

    Each is ``{run_id, name, notebook, created_at, deleted_at}`` (name and notebook from its
    run.json, None when unreadable; deleted_at: when it was moved there). Earlier copies kept
    as ``ID.replaced-TIME`` are not listed (``trackrun gc --purge`` removes them).
    """
    trash = store.paths.trash
    if not trash.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for entry in os.scandir(trash):
        if not is_run_id(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        record: dict[str, Any] = {}
        try:
            with open(Path(entry.path) / "run.json", encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                record = loaded
        except (OSError, ValueError):
            pass  # a damaged run is still listed, and can still be restored or purged
        out.append(
            {
                "run_id": entry.name,
                "name": record.get("name") if isinstance(record.get("name"), str) else None,
                "notebook": record.get("notebook")
                if isinstance(record.get("notebook"), str)
                else None,
                "created_at": _number(record.get("created_at")),
                # A rename changes the folder's ctime, not its mtime: the time it was trashed.
                "deleted_at": entry.stat(follow_symlinks=False).st_ctime,
            }
        )
    out.sort(key=lambda r: (-r["deleted_at"], r["run_id"]))
    return out


def restore_run(store: Store, run_id: str) -> str:
    """Move run ``run_id`` back from the trash into ``runs/`` and index it again; returns it.

    Raises InvalidRunIdError for a malformed id, RunNotFoundError when the trash holds no
    such run, and RunStateError, moving nothing, when the store already has a run with that
    id (restoring would overwrite it: delete or rename that one first).
    """
    check_run_id(run_id)
    source = _trashed(store, run_id)
    target = store.paths.run(run_id).root
    with store.connection() as con:
        indexed = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if os.path.lexists(target) or (indexed and indexed[0]):
            raise RunStateError(
                f"run {run_id} already exists in the store; restoring would overwrite it "
                f"(move that one to the trash first: `trackrun rm {run_id}`)"
            )
        make_dir(store.paths.runs, store.paths.root)
        os.rename(source, target)
    store.forget_runs([run_id])  # a folder of that id is new to the index: ingest it afresh
    store.ingest([run_id])
    return run_id


def delete_forever(store: Store, run_id: str, dry_run: bool = False) -> str:
    """Delete run ``run_id`` from the trash for good; returns it (with ``dry_run``: deletes
    nothing). Raises InvalidRunIdError for a malformed id, RunNotFoundError when the trash
    holds no such run. Runs outside the trash are never touched."""
    check_run_id(run_id)
    source = _trashed(store, run_id)
    if not dry_run:
        shutil.rmtree(source)
    return run_id


def _trashed(store: Store, run_id: str) -> Path:
    """The trash folder of ``run_id`` (a checked id): a real folder, never a symlink."""
    path = store.paths.trash / run_id
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    if not stat.S_ISDIR(mode):
        raise RunNotFoundError(
            f"no run {run_id} in the trash (`trackrun trash` lists what it holds)"
        )
    return path


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


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
