# mypy: disable-error-code="import-untyped, import-not-found"
"""Logging and query benchmark: trackrun against MLflow, W&B and TensorBoard on one workload.

Run from the repository root::

    pip install -e '.[bench]'
    python bench/bench_logging.py            # full workload (a few minutes)
    python bench/bench_logging.py --quick    # smaller workload, for a smoke test

Every tool runs in its own fresh Python process (so imports, background threads and service
processes of one tool never disturb another), in a temporary directory, without network:
W&B in offline mode, MLflow on a local sqlite database, TensorBoard event files on disk.
"Cold" queries run in yet another fresh process per repeat. Peers that are not installed are
skipped with a note. The script reports; it never fails the build (exit status 0).

Workload, identical for every tool:

1. one run of ``--steps`` steps (default 20,000) x 4 metrics, one log call per step
   (TensorBoard: 4 ``add_scalar`` calls count as one call), then finish/flush;
2. ``--runs`` runs (default 200) with 3 params and 5 metric points each, then a filter query
   ``params.lr < 1e-3 and metrics.acc > 0.5``;
3. the full history of one metric of run 1.

A peer still logging after ``--budget`` seconds (default 60) is stopped there, and its total is
extrapolated linearly from the steps/runs done (marked ``~`` and ``*`` in the table).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peers
import trackrun_tool
from children import PYCACHE, child_env
from logging_report import EXTRA_ROWS, MAIN_ROWS, check_targets, environment, render_table
from workload import TOOLS, WARM_REPEATS, expected_matches

WORKER_TIMEOUT_S = 1800
COLD_TIMEOUT_S = 300


WORKERS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "trackrun": trackrun_tool.work_trackrun,
    "mlflow": peers.work_mlflow,
    "wandb": peers.work_wandb,
    "tensorboard": peers.work_tensorboard,
}
COLD: dict[str, Callable[[str, Path, bool], dict[str, Any]]] = {
    "trackrun": trackrun_tool.cold_trackrun,
    "mlflow": peers.cold_mlflow,
    "tensorboard": peers.cold_tensorboard,
}
#: Which cold measurements each tool supports: (kind, preimport) pairs.
COLD_PLAN: dict[str, tuple[tuple[str, bool], ...]] = {
    "trackrun": (("query", False), ("query", True), ("history", False), ("history", True)),
    "mlflow": (("query", False), ("history", False)),
    "tensorboard": (("history", False),),
}


# -- orchestration (main process) -----------------------------------------------------------
def missing_reason(tool: str) -> str | None:
    """Why ``tool`` cannot be benchmarked here, or None when it can."""
    if tool == "tensorboard":
        has_torch_writer = importlib.util.find_spec("torch") and importlib.util.find_spec(
            "tensorboard"
        )
        if has_torch_writer or importlib.util.find_spec("tensorboardX"):
            return None
        return "neither tensorboard (+torch) nor tensorboardX is installed"
    if importlib.util.find_spec(tool) is None:
        return f"{tool} is not installed (pip install -e '.[bench]')"
    return None


def run_child(args: list[str], out: Path, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run this script with ``args`` in a fresh interpreter; return (its JSON result, error)."""
    cmd = [sys.executable, os.path.abspath(__file__), *args, "--_out", str(out)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=child_env(keep_settings=True)
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f}s"
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"exit {proc.returncode}: " + " | ".join(tail)
    return json.loads(out.read_text()), ""


def bench_tool(tool: str, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run the worker of ``tool`` and its cold-query processes; return its numbers."""
    root = work / tool
    root.mkdir()
    print(f"[bench] {tool}: logging workload ...", file=sys.stderr, flush=True)
    worker_args = ["--_worker", tool, "--_root", str(root), "--_config", json.dumps(cfg)]
    result, error = run_child(worker_args, root / "result.json", WORKER_TIMEOUT_S)
    if result is None:
        return {"skipped": f"worker failed ({error})"}
    result.setdefault("notes", [])
    for kind, preimport in COLD_PLAN.get(tool, ()):
        samples: list[dict[str, Any]] = []
        for repeat in range(cfg["cold_repeats"]):
            out = root / f"cold-{kind}-{int(preimport)}-{repeat}.json"
            args = ["--_cold", tool, "--_kind", kind, "--_root", str(root)]
            sample, error = run_child(args + (["--_preimport"] if preimport else []), out, 300)
            if sample is None:
                result["notes"].append(f"cold {kind} failed ({error})")
                break
            samples.append(sample)
        if not samples:
            continue
        cold = statistics.median(s["cold_ms"] for s in samples)
        if tool == "trackrun" and not preimport:
            result[f"{kind}_cold_with_imports_ms"] = cold
            continue
        result[f"{kind}_cold_ms"] = cold
        result[f"{kind}_warm_ms"] = statistics.median(s["warm_ms"] for s in samples)
        result[f"{kind}_cold_samples_ms"] = [s["cold_ms"] for s in samples]
        for key in ("recomputed_ms", "import_duckdb_ms", "import_numpy_ms"):
            values = [s[key] for s in samples if key in s]
            if values:
                name = key if key.startswith("import_") else f"{kind}_{key}"
                result[name] = statistics.median(values)
    print(f"[bench] {tool}: done", file=sys.stderr, flush=True)
    return result


def main_bench(args: argparse.Namespace) -> None:
    """Benchmark every tool, print the tables and target checks, write JSON if asked."""
    steps = args.steps or (2_000 if args.quick else 20_000)
    runs = args.runs or (20 if args.quick else 200)
    cfg = {
        "steps": steps,
        "runs": runs,
        "budget": args.budget or (15.0 if args.quick else 60.0),
        "cold_repeats": args.cold_repeats or (1 if args.quick else 3),
    }
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="trackrun-bench-") as tmp:
        PYCACHE["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        for tool in args.tools:
            reason = missing_reason(tool)
            if reason:
                print(f"note: skipping {tool}: {reason}")
                results[tool] = {"skipped": reason}
                continue
            results[tool] = bench_tool(tool, cfg, Path(tmp))
            if "skipped" in results[tool]:
                print(f"note: skipping {tool}: {results[tool]['skipped']}")
    for tool in TOOLS:
        results.setdefault(tool, {"skipped": "not selected (--tools)"})

    env = environment()
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    print(
        f"\n## trackrun vs peers: {steps:,} steps x 4 metrics, {runs} runs "
        f"(Python {env['python']}, {env['cpu_count']} CPUs)\n\n{versions}\n"
    )
    print(render_table(results, MAIN_ROWS, cfg))
    print("\nSupplementary:\n")
    print(render_table(results, EXTRA_ROWS, cfg))
    expected = expected_matches(runs)
    print(
        f"\nRatios are peer / trackrun (higher = trackrun faster). `~...*`: stopped after "
        f"the {cfg['budget']:g} s budget, extrapolated linearly from the steps/runs done. "
        f"Cold = first call in a fresh process (median of {cfg['cold_repeats']}) that has "
        "imported the tool (for trackrun also duckdb, and numpy for the history: their "
        "one-time import is listed apart, as the target excludes it); "
        f"warm = median of {WARM_REPEATS} "
        "immediate repeats. MLflow filters `metrics.acc` in SQL and `params.lr` in pandas "
        f"(params are strings). Expected filter matches: {expected}."
    )
    for tool in TOOLS:
        data = results[tool]
        facts = []
        for name in ("steps_measured", "runs_measured", "query_matches", "history_points"):
            if name in data:
                facts.append(f"{name}={data[name]}")
        notes = data.get("notes", []) + ([data["skipped"]] if "skipped" in data else [])
        print(f"- {tool}: " + "; ".join(facts + notes))
    checks = check_targets(results)
    print()
    for passed, text in checks:
        status = {True: "PASS", False: "FAIL", None: "SKIP"}[passed]
        print(f"{status}: {text}")
    if args.json:
        report: dict[str, Any] = {"config": cfg, "environment": env, "results": results}
        report["targets"] = [{"passed": p, "check": t} for p, t in checks]
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"\nraw numbers written to {args.json}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the ``--_*`` ones are internal: child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, help="steps of the logging run (default 20000)")
    parser.add_argument("--runs", type=int, help="runs of the sweep (default 200)")
    parser.add_argument("--quick", action="store_true", help="2000 steps, 20 runs, 1 cold repeat")
    parser.add_argument("--budget", type=float, help="seconds before extrapolating (default 60)")
    parser.add_argument("--cold-repeats", type=int, help="fresh processes per cold measure")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers as JSON")
    hidden = argparse.SUPPRESS
    parser.add_argument("--_worker", choices=TOOLS, help=hidden)
    parser.add_argument("--_cold", choices=TOOLS, help=hidden)
    parser.add_argument("--_kind", choices=("query", "history"), help=hidden)
    parser.add_argument("--_preimport", action="store_true", help=hidden)
    parser.add_argument("--_root", help=hidden)
    parser.add_argument("--_config", help=hidden)
    parser.add_argument("--_out", help=hidden)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: the benchmark, or one child process of it."""
    args = parse_args(argv)
    if args._worker:
        result = WORKERS[args._worker](json.loads(args._config), Path(args._root))
    elif args._cold:
        result = COLD[args._cold](args._kind, Path(args._root), args._preimport)
    else:
        main_bench(args)
        return 0
    Path(args._out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
