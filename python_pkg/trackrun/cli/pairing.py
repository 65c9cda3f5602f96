"""Setting a project up from a terminal: ``init`` (notebook pairing, .gitignore, IPython startup)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add this group's commands to the ``trackrun`` parser's subcommands."""
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


def _cmd_init(args: argparse.Namespace) -> int:
    from trackrun.layout import find_git_root
    from trackrun.pairing import check_pairs, sync_pairs
    from trackrun.project import init_project

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
