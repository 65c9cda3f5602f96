"""The store's queue from a terminal: ``queue`` lists it, ``queue run`` drains it here,
``queue clear [--sweep NAME]`` cancels queued runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trackrun.cli.common import open_store
from trackrun.errors import TrackrunError
from trackrun.table import Table


def register(sub: Any) -> None:
    """Add the ``queue`` command to the ``trackrun`` parser's subcommands."""
    p = sub.add_parser("queue", help="list queued detached runs; `run` drains; `clear` cancels")
    p.add_argument("action", nargs="?", choices=["list", "run", "clear"], default="list")
    p.add_argument("--sweep", help="with clear: only this sweep's queued runs (name or id)")
    p.add_argument(
        "--max-parallel",
        type=int,
        help="with run: runs at once (default: $TRACKRUN_MAX_PARALLEL, else the project "
        "config's max_parallel, else the CPU cores; --gpu auto runs also wait for a free GPU)",
    )
    p.set_defaults(handler=_cmd_queue)


def _cmd_queue(args: argparse.Namespace) -> int:
    from trackrun import jobs

    store = open_store(args)
    if args.action == "run":
        if not jobs.run_queue(store.paths, args.max_parallel):
            info = jobs.live_drainer(store.paths.root) or {}
            print(f"the queue is already being drained (pid {info.get('pid', '?')}); nothing to do")
        else:
            print("the queue is empty")
        return 0
    waiting = jobs.queued(store.paths)
    if args.action == "clear":
        return _clear(store, waiting, args.sweep)
    drainer = jobs.live_drainer(store.paths.root)
    who = (
        f"drained by pid {drainer['pid']}"
        if drainer
        else "no drainer: `trackrun queue run` starts them"
    )
    launches = [jobs.read_launch(store.paths.run(run_id)) for run_id in waiting]
    table = Table(
        {
            "run_id": waiting,
            "name": [launch.get("name") for launch in launches],
            "sweep": [(launch.get("sweep") or {}).get("name") for launch in launches],
        }
    )
    print(table.format(max_rows=200) if waiting else "the queue is empty")
    if waiting:
        print(f"{len(waiting)} queued; {who}")
    return 0


def _clear(store: Any, waiting: list[str], sweep_name: str | None) -> int:
    from trackrun import jobs

    sweep = jobs.find_sweep(store.paths, sweep_name) if sweep_name else None
    if sweep_name and sweep is None:
        raise TrackrunError(f"no sweep is named or numbered {sweep_name!r}")
    chosen = [r for r in waiting if sweep is None or r in set(sweep.run_ids)]
    cancelled = 0
    for run_id in chosen:
        try:
            jobs.kill(store, run_id)
            cancelled += 1
        except TrackrunError as error:  # it started or ended meanwhile
            print(f"{run_id}: {error}", file=sys.stderr)
    print(f"cancelled {cancelled} queued run(s)")
    return 0
