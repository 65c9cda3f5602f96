"""The fresh Python processes that benchmarks time: their environment (this checkout's
trackrun, or another's, first on ``PYTHONPATH``; bytecode caching on), running a program in
one and reading back the JSON it prints, and timing the ``trackrun`` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: The root of this checkout.
CHECKOUT = Path(__file__).resolve().parent.parent
#: Where child processes keep compiled bytecode (set by each script's main; see child_env).
PYCACHE: dict[str, str] = {}


def child_env(impl: Path | None = None, *, keep_settings: bool = False) -> dict[str, str]:
    """The environment of a child: no TRACKRUN_* settings (unless ``keep_settings``), and
    bytecode caching on.

    An installed package has its .pyc files; without them (PYTHONDONTWRITEBYTECODE=1, as in
    some CI shells) every fresh process would also time compiling trackrun's own modules.
    The cache goes to a temporary folder, never into the checkout. The package timed is
    the one of this checkout (or ``impl``), first on ``PYTHONPATH``, whatever an installed
    or editable copy points to.
    """
    if keep_settings:
        env = dict(os.environ)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRUN_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYCACHE)
    source = impl or CHECKOUT
    env["PYTHONPATH"] = os.pathsep.join([str(source / "python_pkg"), env.get("PYTHONPATH", "")])
    return env


def run_program(
    code: str, args: list[str], impl: Path | None, timeout: float = 600
) -> dict[str, Any]:
    """Run ``python -c CODE ARGS`` in a fresh child; return the JSON of its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=child_env(impl),
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def timed_cli(args: list[str], store: Path, impl: Path | None) -> float:
    """Seconds for ``python -m trackrun.cli ARGS`` on ``store`` (output discarded)."""
    env = {**child_env(impl), "TRACKRUN_HOME": str(store)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-300:])
    return elapsed
