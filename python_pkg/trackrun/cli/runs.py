"""Reading runs from a terminal: ``ls``, ``show``, ``metrics``, ``logs``, ``export``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from trackrun.cli.common import duration, open_store, when
from trackrun.errors import TrackrunError
from trackrun.health import read_health
from trackrun.layout import RunPaths
from trackrun.table import Table, jsonable


def register(sub: Any) -> None:
    """Add this group's commands to the ``trackrun`` parser's subcommands."""
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

    p = sub.add_parser("export", help="write runs (or metric histories) to CSV or Parquet")
    p.add_argument("out", help="output file")
    p.add_argument("--format", choices=["csv", "parquet"], help="default: from the file suffix")
    p.add_argument("--filter", "-f")
    p.add_argument("--metrics", action="store_true", help="export long-format metric histories")
    p.set_defaults(handler=_cmd_export)


def _cmd_ls(args: argparse.Namespace) -> int:
    store = open_store(args)
    limit = None if args.limit == 0 else args.limit
    table = store.runs(args.filter, args.order_by, limit)
    if any(status in ("queued", "running") for status in table["status"]):
        from trackrun import jobs  # SLURM runs whose heartbeats stopped: ask SLURM

        if jobs.reconcile(store, judge_only=True):
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
    rows: dict[str, list[Any]] = {
        "id": table["run_id"],
        "name": table["name"],
        "status": table["status"],
        "started": [when(t) for t in table["started_at"]],
        "duration": [duration(d) for d in table["duration"]],
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


def _cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    info = store.summary(args.run)
    job = None
    if info.get("detached"):
        from trackrun import jobs  # the backend's view: SLURM job id, state, queue wait

        if info["status"] in ("queued", "running") and jobs.reconcile(store):
            info = store.summary(info["run_id"])
        job = jobs.describe(store, info["run_id"])
    record = _read_run_json(store, info["run_id"])
    if args.json:
        print(json.dumps(jsonable({**info, "record": record, "job": job}), indent=1, default=str))
        return 0
    provenance = record.get("provenance") or {}
    git = provenance.get("git") or {}
    hardware = provenance.get("hardware") or {}
    lines = [
        f"{info['name']}  ({info['run_id']})",
        f"  status    {info['status']}"
        + (f"  attempts {info['attempts']}" if info["attempts"] else ""),
        f"  started   {when(info['started_at'])}   duration {duration(info['duration'])}",
    ]
    if job and job.get("job_id"):
        wait = job.get("queue_wait")
        lines.append(
            f"  backend   {job['backend']}  job {job['job_id']}  {job.get('state') or '-'}"
            + (f"  queue wait {duration(wait)}" if isinstance(wait, (int, float)) else "")
        )
    lines += _health_lines(store.paths.run(info["run_id"]), str(info["status"]))
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
    if info.get("note"):
        lines.append("note")
        lines += ["  " + line for line in str(info["note"]).splitlines()]
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


def _health_lines(run: RunPaths, status: str) -> list[str]:
    """What the run's writers said about themselves at the end of their event files: records
    they had to drop, an exit code, a main thread that stopped making progress."""
    health = read_health(run)
    lines = []
    if health.dropped_records:
        lines.append(
            f"  dropped   {health.dropped_records:,} records the store could not take (see the log)"
        )
    if health.exit_code not in (None, 0):
        lines.append(f"  exit code {health.exit_code}")
    if health.stalled(status):
        lines.append(
            f"  stalled   the main thread made no progress for {duration(health.stalled_for)} "
            "(still running; trackrun never kills it)"
        )
    return lines


def _cmd_metrics(args: argparse.Namespace) -> int:
    table = open_store(args).metrics(args.run, args.key)
    if args.json:
        print(json.dumps(jsonable(table.to_dicts())))
    elif not len(table):
        print("no metrics logged")
    else:
        print(Table({k: table[k] for k in ("key", "step", "value")}).format(max_rows=len(table)))
    return 0


def _cmd_logs(args: argparse.Namespace) -> int:
    store = open_store(args)
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


def _cmd_export(args: argparse.Namespace) -> int:
    store = open_store(args)
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


def _default_extra(table: Table) -> list[str]:
    params = [c for c in table.column_names if c.startswith("params.")][:4]
    metrics = [
        c
        for c in table.column_names
        if c.startswith("metrics.") and not c.endswith((".min", ".max"))
    ][:4]
    return params + metrics


def _flatten_cell(values: list[Any]) -> list[Any]:
    if any(isinstance(v, (list, dict)) for v in values):
        return [json.dumps(v) if isinstance(v, (list, dict)) else v for v in values]
    return values


def _read_run_json(store: Any, run_id: str) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads(store.paths.run(run_id).run_json.read_text())
        return record
    except (OSError, ValueError):
        return {}
