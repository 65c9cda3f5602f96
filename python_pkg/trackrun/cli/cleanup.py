"""Changing the store from a terminal: ``rename``, ``note``, ``rm``, ``trash``, ``restore``, ``gc``,
``kill``, ``reindex`` (deleting ones honour ``--dry-run``)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from trackrun.cli.common import open_store, parse_duration
from trackrun.errors import TrackrunError


def register(sub: Any) -> None:
    """Add this group's commands to the ``trackrun`` parser's subcommands."""
    p = sub.add_parser("rename", help="give a run a new name")
    p.add_argument("run", help="run id, unique id prefix, or name")
    p.add_argument("name", help="the new name (1-200 characters, one line)")
    p.set_defaults(handler=_cmd_rename)

    p = sub.add_parser("note", help="print, set or clear a run's note")
    p.add_argument("run", help="run id, unique id prefix, or name")
    p.add_argument("text", nargs="?", help="the new note ('-': read it from stdin; absent: print)")
    p.add_argument("--clear", action="store_true", help="remove the note")
    p.set_defaults(handler=_cmd_note)

    p = sub.add_parser("rm", help="move runs to the store's trash")
    p.add_argument("runs", nargs="+")
    p.add_argument("--force", action="store_true", help="also remove queued or running runs")
    p.add_argument("--dry-run", action="store_true", help="only list what would be moved")
    p.set_defaults(handler=_cmd_rm)

    p = sub.add_parser("trash", help="list the runs in the store's trash")
    p.set_defaults(handler=_cmd_trash)

    p = sub.add_parser("restore", help="move runs back from the trash")
    p.add_argument("runs", nargs="+", help="full run ids (see `trackrun trash`)")
    p.set_defaults(handler=_cmd_restore)

    p = sub.add_parser(
        "gc", help="move old failed/killed/lost runs to the trash; --purge empties it"
    )
    p.add_argument(
        "--status", action="append", help="statuses to collect (default failed, killed, lost)"
    )
    p.add_argument("--older-than", help="only runs started longer ago than this, e.g. 7d, 12h")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.add_argument("--purge", action="store_true", help="permanently delete the trash")
    p.set_defaults(handler=_cmd_gc)

    p = sub.add_parser("kill", help="stop queued or running runs (detached: the whole job)")
    p.add_argument("runs", nargs="+", help="run ids/names, or sweep ids/names (the whole sweep)")
    p.set_defaults(handler=_cmd_kill)

    p = sub.add_parser("reindex", help="rebuild index.duckdb from the run directories")
    p.set_defaults(handler=_cmd_reindex)


def _cmd_rename(args: argparse.Namespace) -> int:
    from trackrun.api import rename

    store = open_store(args)
    run_id = rename(args.run, args.name, store=store)
    print(f"renamed {run_id} to {store.summary(run_id)['name']}")
    return 0


def _cmd_note(args: argparse.Namespace) -> int:
    from trackrun.api import set_note

    store = open_store(args)
    if args.clear and args.text is not None:
        raise TrackrunError("give either a note or --clear, not both")
    if not args.clear and args.text is None:
        note = store.summary(args.run).get("note")
        if note:
            print(note)
        return 0
    text = "" if args.clear else sys.stdin.read() if args.text == "-" else args.text
    run_id = set_note(args.run, text, store=store)
    print(f"{'cleared the note of' if not text.strip() else 'set the note of'} {run_id}")
    return 0


def _cmd_rm(args: argparse.Namespace) -> int:
    from trackrun.store.gc import trash_runs

    ids = trash_runs(open_store(args), args.runs, force=args.force, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    print(
        f"{verb} {len(ids)} run(s) to the trash: {', '.join(ids)} (trackrun gc --purge empties it)"
    )
    return 0


def _cmd_trash(args: argparse.Namespace) -> int:
    from trackrun.store.gc import list_trash

    runs = list_trash(open_store(args))
    if not runs:
        print("the trash is empty")
    for run in runs:
        deleted = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["deleted_at"]))
        print(f"{run['run_id']}  {run['name'] or '?'}  (deleted {deleted})")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from trackrun.store.gc import restore_run

    store = open_store(args)
    for run_id in args.runs:
        print(f"restored {restore_run(store, run_id)}")
    return 0


def _cmd_gc(args: argparse.Namespace) -> int:
    from trackrun.store.gc import purge_trash, select_garbage, trash_runs

    store = open_store(args)
    if args.purge:
        names = purge_trash(store, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        print(f"{verb} {len(names)} run(s) from the trash for good" + (":" if names else ""))
        for name in names:
            print(f"  {name}")
        return 0
    older = parse_duration(args.older_than) if args.older_than else None
    ids = select_garbage(store, args.status, older)
    if args.dry_run or not ids:
        verb = "would move" if args.dry_run else "moved"
        print(f"{verb} {len(ids)} run(s) to the trash" + (":" if ids else ""))
        for run_id in ids:
            print(f"  {run_id}")
        return 0
    trash_runs(store, ids)
    print(f"moved {len(ids)} run(s) to the trash (trackrun gc --purge empties it)")
    return 0


def _cmd_kill(args: argparse.Namespace) -> int:
    from trackrun import jobs

    store = open_store(args)
    for run in args.runs:
        sweep = jobs.find_sweep(store.paths, run)
        if sweep is None:
            print(f"killed {jobs.kill(store, run)}")
            continue
        done = jobs.kill_sweep(store, sweep)
        print(
            f"sweep {sweep.name}: cancelled {len(done['cancelled'])} queued and killed "
            f"{len(done['killed'])} running run(s)"
        )
    return 0


def _cmd_reindex(args: argparse.Namespace) -> int:
    count = open_store(args).reindex()
    print(f"reindexed {count} run(s)")
    return 0
