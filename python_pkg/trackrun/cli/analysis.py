"""Analysing runs from a terminal: ``compare``, ``diff``, ``reproduce``."""

from __future__ import annotations

import argparse
from typing import Any

from trackrun.cli.common import open_store


def register(sub: Any) -> None:
    """Add this group's commands to the ``trackrun`` parser's subcommands."""
    p = sub.add_parser("compare", help="compare runs: params that differ, final metrics, t-test")
    p.add_argument("runs", nargs="+", help="run ids, prefixes or names; or one quoted filter")
    p.add_argument("--metric", "-k", action="append", help="metric key (repeatable; default: all)")
    p.add_argument("--group-by", "-g", action="append", help="param to group runs by (repeatable)")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("diff", help="diff two runs' cell code, notebook and package versions")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(handler=_cmd_diff)

    p = sub.add_parser(
        "reproduce", help="write a run back as a standalone script folder; --run checks it"
    )
    p.add_argument("run", help="run id, unique id prefix, or name")
    p.add_argument("-o", "--out", help="output folder (default: ./reproduce-RUN_ID)")
    p.add_argument("--run", dest="execute", action="store_true", help="run it and compare")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    p.add_argument("--timeout", type=float, help="seconds the script may run (--run)")
    p.set_defaults(handler=_cmd_reproduce)


def _cmd_compare(args: argparse.Namespace) -> int:
    from trackrun.comparison import compare

    target = args.runs[0] if len(args.runs) == 1 else args.runs
    print(
        compare(
            target, metrics=args.metric, group_by=args.group_by, store=open_store(args)
        ).to_text()
    )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from trackrun.codediff import diff

    print(diff(args.a, args.b, store=open_store(args)).to_text())
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from trackrun.reproduction import reproduce

    result = reproduce(
        args.run, args.out, run=args.execute, force=args.force, rtol=args.rtol,
        timeout=args.timeout, store=open_store(args),
    )  # fmt: skip
    print(result.to_text())
    return 0 if result.verdict in (None, "identical", "within tolerance") else 3
