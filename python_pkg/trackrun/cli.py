"""The ``trackrun`` command: list, inspect, follow, export and clean up runs from a terminal."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trackrun.errors import TrackrunError
from trackrun.table import Table, jsonable

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trackrun`` console script; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except TrackrunError as error:
        print(f"trackrun: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trackrun",
        description="Experiment tracking for notebooks. Runs live in a local store "
        "(.trackrun/ at the git root unless --store or $TRACKRUN_HOME says otherwise).",
    )
    parser.add_argument("--store", help="path of the run store (default: see above)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("ls", help="list runs")
    p.add_argument("--filter", "-f", help='e.g. "status = finished and params.lr < 1e-3"')
    p.add_argument("--order-by", help='e.g. "metrics.val_acc desc" (default: newest first)')
    p.add_argument("--limit", "-n", type=int, default=50, help="rows to show (0: all; default 50)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--columns", help="comma-separated extra columns, e.g. params.lr,metrics.acc")
    p.set_defaults(handler=_cmd_ls)

    p = sub.add_parser("show", help="a run's params, provenance and metric summary")
    p.add_argument("run", help="run id, unique id prefix, or name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_show)

    p = sub.add_parser("metrics", help="a run's metric history")
    p.add_argument("run")
    p.add_argument("--key", "-k", action="append", help="metric key (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_metrics)

    p = sub.add_parser("logs", help="a run's output (stdout and stderr)")
    p.add_argument("run")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    p.set_defaults(handler=_cmd_logs)

    p = sub.add_parser("rm", help="move runs to the store's trash")
    p.add_argument("runs", nargs="+")
    p.add_argument("--force", action="store_true", help="also remove queued or running runs")
    p.set_defaults(handler=_cmd_rm)

    p = sub.add_parser(
        "gc", help="move old failed/killed/lost runs to the trash; --purge empties it"
    )
    p.add_argument(
        "--status", action="append", help="statuses to collect (default failed, killed, lost)"
    )
    p.add_argument("--older-than", help="only runs started longer ago than this, e.g. 7d, 12h")
    p.add_argument("--dry-run", action="store_true", help="only list what would be moved")
    p.add_argument("--purge", action="store_true", help="permanently delete the trash")
    p.set_defaults(handler=_cmd_gc)

    p = sub.add_parser("export", help="write runs (or metric histories) to CSV or Parquet")
    p.add_argument("out", help="output file")
    p.add_argument("--format", choices=["csv", "parquet"], help="default: from the file suffix")
    p.add_argument("--filter", "-f")
    p.add_argument("--metrics", action="store_true", help="export long-format metric histories")
    p.set_defaults(handler=_cmd_export)

    p = sub.add_parser("compare", help="compare runs: params that differ, final metrics, t-test")
    p.add_argument("runs", nargs="+", help="run ids, prefixes or names; or one quoted filter")
    p.add_argument("--metric", "-k", action="append", help="metric key (repeatable; default: all)")
    p.add_argument("--group-by", "-g", action="append", help="param to group runs by (repeatable)")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("diff", help="diff two runs' cell code, notebook and package versions")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(handler=_cmd_diff)

    p = sub.add_parser("kill", help="stop queued or running runs (detached: the whole job)")
    p.add_argument("runs", nargs="+", help="run ids/names, or sweep ids/names (the whole sweep)")
    p.set_defaults(handler=_cmd_kill)

    p = sub.add_parser("queue", help="list queued detached runs; `run` drains; `clear` cancels")
    p.add_argument("action", nargs="?", choices=["list", "run", "clear"], default="list")
    p.add_argument("--sweep", help="with clear: only this sweep's queued runs (name or id)")
    p.add_argument("--max-parallel", type=int, help="with run: runs at once (default: CPU cores)")
    p.set_defaults(handler=_cmd_queue)

    p = sub.add_parser(
        "init", help="set a project up: notebook pairing, .gitignore, IPython startup"
    )
    p.add_argument("path", nargs="?", help="project root (default: git root, else current folder)")
    p.add_argument(
        "--ipython-startup",
        action="store_true",
        help="load trackrun in every IPython kernel (~/.ipython/profile_default/startup)",
    )
    p.add_argument(
        "--sync", action="store_true", help="run jupytext --sync on every paired notebook"
    )
    p.add_argument(
        "--check", action="store_true", help="report paired notebooks whose files disagree"
    )
    p.set_defaults(handler=_cmd_init)

    p = sub.add_parser("reindex", help="rebuild index.duckdb from the run directories")
    p.set_defaults(handler=_cmd_reindex)
    return parser


def _store(args: argparse.Namespace) -> Any:
    from trackrun.store import Store

    return Store(args.store, lease=0)


# -- commands -------------------------------------------------------------------------------
def _cmd_ls(args: argparse.Namespace) -> int:
    store = _store(args)
    limit = None if args.limit == 0 else args.limit
    table = store.runs(args.filter, args.order_by, limit)
    if args.json:
        print(json.dumps(jsonable(table.to_dicts()), indent=1, default=str))
        return 0
    total = store.count(args.filter) if limit is not None and len(table) == limit else len(table)
    if not len(table):
        print(
            "no runs" + (" match the filter" if args.filter else " yet: put %%track_run on a cell")
        )
        return 0
    extra = [c.strip() for c in args.columns.split(",")] if args.columns else _default_extra(table)
    now = time.time()
    rows: dict[str, list[Any]] = {
        "id": table["run_id"],
        "name": table["name"],
        "status": table["status"],
        "started": [_when(t, now) for t in table["started_at"]],
        "duration": [_duration(d) for d in table["duration"]],
        "tags": [",".join(t) for t in table["tags"]],
    }
    for column in extra:
        rows[column.removeprefix("params.")] = (
            table[column] if column in table.columns else [None] * len(table)
        )
    print(Table(rows).format(max_rows=len(table), max_width=32))
    if total > len(table):
        print(f"({len(table)} of {total} runs; --limit 0 shows all)")
    return 0


def _default_extra(table: Table) -> list[str]:
    params = [c for c in table.column_names if c.startswith("params.")][:4]
    metrics = [
        c
        for c in table.column_names
        if c.startswith("metrics.") and not c.endswith((".min", ".max"))
    ][:4]
    return params + metrics


def _cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    info = store.summary(args.run)
    record = _read_run_json(store, info["run_id"])
    if args.json:
        print(json.dumps(jsonable({**info, "record": record}), indent=1, default=str))
        return 0
    provenance = record.get("provenance") or {}
    git = provenance.get("git") or {}
    hardware = provenance.get("hardware") or {}
    lines = [
        f"{info['name']}  ({info['run_id']})",
        f"  status    {info['status']}"
        + (f"  attempts {info['attempts']}" if info["attempts"] else ""),
        f"  started   {_when(info['started_at'], None)}   duration {_duration(info['duration'])}",
    ]
    if info.get("notebook"):
        lines.append(f"  notebook  {info['notebook']}")
    if git:
        dirty = " (dirty)" if git.get("dirty") else ""
        lines.append(f"  git       {git.get('commit') or '-'} on {git.get('branch') or '-'}{dirty}")
    if hardware:
        lines.append(
            f"  host      {hardware.get('hostname')}  {hardware.get('cpu_count')} CPUs  "
            f"python {hardware.get('python_version') or '-'}"
        )
    if info["tags"]:
        lines.append(f"  tags      {', '.join(info['tags'])}")
    if info["params"]:
        lines.append("params")
        lines += [f"  {k} = {json.dumps(v)}" for k, v in info["params"].items()]
    if info["metrics"]:
        lines.append("metrics")
        table = Table(
            {
                "key": list(info["metrics"]),
                "last": [m["last"] for m in info["metrics"].values()],
                "min": [m["min"] for m in info["metrics"].values()],
                "max": [m["max"] for m in info["metrics"].values()],
                "points": [m["count"] for m in info["metrics"].values()],
            }
        )
        lines += ["  " + line for line in table.format(max_rows=1000).splitlines()]
    if info["artifacts"]:
        lines.append("artifacts")
        lines += [
            f"  {a['name']}  {a['size']} bytes  sha256 {a['sha256'][:12]}"
            for a in info["artifacts"]
        ]
    if info.get("error"):
        lines.append("error")
        lines += ["  " + line for line in str(info["error"]).rstrip().splitlines()[-15:]]
    print("\n".join(lines))
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    table = _store(args).metrics(args.run, args.key)
    if args.json:
        print(json.dumps(jsonable(table.to_dicts())))
    elif not len(table):
        print("no metrics logged")
    else:
        print(Table({k: table[k] for k in ("key", "step", "value")}).format(max_rows=len(table)))
    return 0


def _cmd_logs(args: argparse.Namespace) -> int:
    store = _store(args)
    run_id = store.resolve(args.run)
    log_path = store.paths.run(run_id).output_log
    offset = 0
    out = sys.stdout.buffer
    while True:
        try:
            with open(log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            out.write(data)
            out.flush()
            offset += len(data)
        if not args.follow:
            return 0
        if store.summary(run_id)["status"] not in ("queued", "running"):
            with open(log_path, "rb") as f:
                f.seek(offset)
                out.write(f.read())
            out.flush()
            return 0
        time.sleep(0.5)


def _cmd_rm(args: argparse.Namespace) -> int:
    from trackrun.store.gc import trash_runs

    ids = trash_runs(_store(args), args.runs, force=args.force)
    print(
        f"moved {len(ids)} run(s) to the trash: {', '.join(ids)} (trackrun gc --purge empties it)"
    )
    return 0


def _cmd_gc(args: argparse.Namespace) -> int:
    from trackrun.store.gc import purge_trash, select_garbage, trash_runs

    store = _store(args)
    if args.purge:
        print(f"deleted {purge_trash(store)} run(s) from the trash for good")
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


def _cmd_export(args: argparse.Namespace) -> int:
    store = _store(args)
    out = Path(args.out)
    fmt = args.format or out.suffix.lstrip(".").lower()
    if fmt not in ("csv", "parquet"):
        raise TrackrunError(
            f"cannot tell the format of {out}; name it .csv or .parquet or pass --format"
        )
    runs = store.runs(args.filter)
    if args.metrics:
        table = store.metrics(runs["run_id"]) if len(runs) else Table({})
    else:
        table = Table({k: _flatten_cell(v) for k, v in runs.columns.items()})
    relation = table.to_duckdb()
    if fmt == "csv":
        relation.write_csv(str(out))
    else:
        relation.write_parquet(str(out))
    print(f"wrote {len(table)} rows to {out}")
    return 0


def _flatten_cell(values: list[Any]) -> list[Any]:
    if any(isinstance(v, (list, dict)) for v in values):
        return [json.dumps(v) if isinstance(v, (list, dict)) else v for v in values]
    return values


def _cmd_compare(args: argparse.Namespace) -> int:
    from trackrun.comparison import compare

    target = args.runs[0] if len(args.runs) == 1 else args.runs
    print(
        compare(target, metrics=args.metric, group_by=args.group_by, store=_store(args)).to_text()
    )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from trackrun.codediff import diff

    print(diff(args.a, args.b, store=_store(args)).to_text())
    return 0


def _cmd_kill(args: argparse.Namespace) -> int:
    from trackrun import jobs
    from trackrun.api import kill

    for run in args.runs:
        store = _store(args)
        sweep = jobs.find_sweep(store.paths, run)
        if sweep is None:
            print(f"killed {kill(run, store=args.store)}")
            continue
        done = jobs.kill_sweep(store, sweep)
        print(
            f"sweep {sweep.name}: cancelled {len(done['cancelled'])} queued and killed "
            f"{len(done['killed'])} running run(s)"
        )
    return 0


def _cmd_queue(args: argparse.Namespace) -> int:
    from trackrun import jobs
    from trackrun.jobs.queue import live_drainer

    store = _store(args)
    if args.action == "run":
        if not jobs.run_queue(store.paths, args.max_parallel):
            info = live_drainer(store.paths.root) or {}
            print(f"the queue is already being drained (pid {info.get('pid', '?')}); nothing to do")
        else:
            print("the queue is empty")
        return 0
    waiting = jobs.queued(store.paths)
    if args.action == "clear":
        sweep = jobs.find_sweep(store.paths, args.sweep) if args.sweep else None
        if args.sweep and sweep is None:
            raise TrackrunError(f"no sweep is named or numbered {args.sweep!r}")
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
    drainer = live_drainer(store.paths.root)
    who = (
        f"drained by pid {drainer['pid']}"
        if drainer
        else "no drainer: `trackrun queue run` starts them"
    )
    rows = [_read_run_json(store, run_id) for run_id in waiting]
    table = Table(
        {
            "run_id": waiting,
            "name": [r.get("name") for r in rows],
            "sweep": [((r.get("launch") or {}).get("sweep") or {}).get("name") for r in rows],
        }
    )
    print(table.format(max_rows=200) if waiting else "the queue is empty")
    if waiting:
        print(f"{len(waiting)} queued; {who}")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from trackrun.layout import find_git_root
    from trackrun.project import check_pairs, init_project, sync_pairs

    here = Path.cwd()
    root = Path(args.path) if args.path else (find_git_root(here) or here)
    if args.check:
        problems = check_pairs(root)
        print("\n\n".join(problems) or "every paired notebook opens cleanly")
        return 1 if problems else 0
    lines = init_project(root, ipython_startup=args.ipython_startup)
    if args.sync:
        lines += sync_pairs(root)
    print("\n".join(lines))
    return 1 if any(line.startswith("could not sync") for line in lines) else 0


def _cmd_reindex(args: argparse.Namespace) -> int:
    count = _store(args).reindex()
    print(f"reindexed {count} run(s)")
    return 0


# -- helpers --------------------------------------------------------------------------------
def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``90``, ``30s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    match = _DURATION.match(text)
    if not match:
        raise TrackrunError(f"cannot read the duration {text!r}; write e.g. 30m, 12h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _when(epoch: float | None, now: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def _duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _read_run_json(store: Any, run_id: str) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(store.paths.run(run_id).run_json.read_text())
        return record
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
