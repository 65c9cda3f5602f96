"""The ``trackrun`` command: list, inspect, follow, compare, export and clean up runs.

One module per command group (``runs``, ``cleanup``, ``queue``, ``analysis``, ``pairing``); each adds
its subcommands with ``register(sub)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from trackrun.cli import analysis, cleanup, pairing, queue, runs
from trackrun.errors import TrackrunError

#: The command groups, in the order their commands appear in ``trackrun --help``.
GROUPS = (runs, cleanup, queue, analysis, pairing)


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
    for group in GROUPS:
        group.register(sub)
    return parser
