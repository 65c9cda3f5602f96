# mypy: disable-error-code="import-untyped, import-not-found"
"""Store benchmark: index queries cold and warm, ingestion, and ``trackrun ls`` on many runs.

Run from the repository root::

    python bench/bench_store.py                      # 10,000 runs, 20,000 steps, 7 repeats
    python bench/bench_store.py --quick              # 1,000 runs, 5,000 steps, 3 repeats
    python bench/bench_store.py --baseline /tmp/old  # also time another checkout, same run

``--baseline DIR`` runs every measurement a second time with ``DIR/python_pkg`` first on
``PYTHONPATH`` (e.g. ``git archive HEAD python_pkg | tar -x -C /tmp/old``), so that before
and after are measured on the same machine at the same time. Every measurement runs in fresh
Python processes and reports the median of ``--repeats``. The script reports; it never fails.

Measures:

1. ``trackrun ls`` as a subprocess on a store of ``--runs`` runs (written directly in the run
   directory format, each with 3 params, 5 points of 2 metrics and a tag): the first one,
   which builds the index, then repeats; and ``Store.runs()`` in a fresh process: cold (the
   first call, after ``import duckdb``), warm (repeats) and warm recomputed (remembered
   answers dropped, index still open).
2. The filter query over 200 runs and the 20,000-point history fetch of ``bench_logging.py``:
   the one-time cost of importing duckdb, numpy and pyarrow, the first call after those
   imports (cold, the target), the first call without them (whatever the implementation
   imports lazily), warm, and warm recomputed.
3. Ingestion: the first query on a store whose index does not exist yet, after one run
   logged ``--steps`` steps x 4 metrics (duckdb, numpy and pyarrow already imported).
4. Ingest at DuckDB speed (alone with ``--ingest-only``): that first query against DuckDB's
   own ``read_json`` of the same file in the same process, appended chunks ingested (points
   per second: the median of the chunks after the first; the first, which pays one-time
   costs such as importing pyarrow, apart), and the first query on stores of ``--scale``
   copies of that run (growth).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python_pkg"))
from child_programs import INGEST_CHILD, QUERY_CHILD, TOKEN_CHILD  # noqa: E402
from children import PYCACHE, run_program, timed_cli  # noqa: E402
from figures import median_of  # noqa: E402
from store_report import print_ingest, print_report  # noqa: E402
from stores import build_query_stores, copy_store, write_many_runs  # noqa: E402
from workload import TRACKRUN_FILTER as FILTER  # noqa: E402


# -- measuring one implementation ------------------------------------------------------------
def measure(
    impl: Path | None, work: Path, stores: dict[str, Any], cfg: dict[str, Any]
) -> dict[str, Any]:
    label = "baseline" if impl else "current"
    out: dict[str, Any] = {}
    repeats = cfg["repeats"]
    mine = work / label
    mine.mkdir()

    # 2. filter query and history fetch (index built once by this implementation).
    runs_store = copy_store(Path(stores["store_runs"]), mine / "store_runs")
    log_store = copy_store(Path(stores["store_log"]), mine / "store_log")
    for kind, store in (("query", runs_store), ("history", log_store)):
        first = run_program(QUERY_CHILD, [kind, str(store), stores["run_id"], "1", FILTER], impl)
        out[f"{kind}_first_ingest_ms"] = first["cold_ms"]
        pre = [
            run_program(QUERY_CHILD, [kind, str(store), stores["run_id"], "1", FILTER], impl)
            for _ in range(repeats)
        ]
        lazy = [
            run_program(QUERY_CHILD, [kind, str(store), stores["run_id"], "0", FILTER], impl)
            for _ in range(repeats)
        ]
        out[f"{kind}_cold_ms"] = median_of(pre, "cold_ms")
        out[f"{kind}_cold_incl_imports_ms"] = median_of(lazy, "cold_ms")
        out[f"{kind}_warm_ms"] = median_of(pre, "warm_ms")
        out[f"{kind}_recomputed_ms"] = median_of(pre, "recomputed_ms")
        out[f"{kind}_rows"] = pre[0]["rows"]
        out[f"{kind}_pyarrow_imported"] = any(s["pyarrow_imported"] for s in lazy)
        for name in ("import_duckdb_ms", "import_numpy_ms", "import_pyarrow_ms"):
            out[name] = median_of(pre, name)
        print(f"[bench] {label}: {kind} done", file=sys.stderr, flush=True)

    # 3. ingestion of the logging run (first query with no index; imports done first).
    samples = []
    for n in range(repeats):
        fresh = copy_store(Path(stores["store_log"]), mine / f"ingest-{n}")
        samples.append(
            run_program(QUERY_CHILD, ["history", str(fresh), stores["run_id"], "1", FILTER], impl)
        )
        shutil.rmtree(fresh)
    out["ingest_first_history_ms"] = median_of(samples, "cold_ms")

    # 1. trackrun ls on many runs.
    many = copy_store(Path(stores["many"]), mine / "many")
    out["ls_first_s"] = timed_cli(["ls"], many, impl)
    out["ls_s"] = statistics.median(timed_cli(["ls"], many, impl) for _ in range(repeats))
    out["ls_all_s"] = statistics.median(
        timed_cli(["ls", "--limit", "0"], many, impl) for _ in range(repeats)
    )
    big = [
        run_program(QUERY_CHILD, ["all", str(many), "-", "1", FILTER], impl) for _ in range(repeats)
    ]
    out["many_runs_cold_ms"] = median_of(big, "cold_ms")
    out["many_runs_warm_ms"] = median_of(big, "warm_ms")
    out["many_runs_recomputed_ms"] = median_of(big, "recomputed_ms")
    out["many_runs_rows"] = big[0]["rows"]
    print(f"[bench] {label}: ls done", file=sys.stderr, flush=True)
    return out


def measure_ingest(
    work: Path, stores: dict[str, Any], cfg: dict[str, Any], impl: Path | None = None
) -> dict[str, Any]:
    """Ingest against DuckDB's read_json, steady state, scale in runs, and unchanged polls
    (``impl``: another checkout; polls are measured only where Store has change_token)."""
    out: dict[str, Any] = {"load_start": os.getloadavg()}
    work = work / ("ingest-baseline" if impl else "ingest-current")
    work.mkdir()
    source = Path(stores["store_log"])
    run_dir = next((source / "runs").iterdir())
    events = run_dir / "events.jsonl"
    # Steady-state chunks: the metric lines of the logged run again, with later seqs/steps.
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    metric_lines = [e for e in lines if e.get("type") == "metrics"]
    top_seq, top_step = max(e["seq"] for e in lines), max(e["step"] for e in metric_lines)
    chunks = []
    for n in range(5):
        chunk = work / f"chunk-{n}.jsonl"
        with open(chunk, "w") as f:
            for i, e in enumerate(metric_lines):
                base = (n + 1) * (len(metric_lines) + 1)
                f.write(json.dumps({**e, "seq": top_seq + base + i, "step": top_step + base + i}))
                f.write("\n")
        chunks.append(str(chunk))
    samples = []
    for n in range(cfg["repeats"]):
        fresh = copy_store(source, work / f"ingest-{n}")
        fresh_events = next((fresh / "runs").iterdir()) / "events.jsonl"
        args = [str(fresh), str(fresh_events), *chunks]
        samples.append(run_program(INGEST_CHILD, args, impl))
        shutil.rmtree(fresh)
    for key in (
        "first_query_ms",
        "read_json_ms",
        "steady_points_per_s",
        "steady_first_points_per_s",
    ):
        out[key] = median_of(samples, key)
    out["ratio"] = statistics.median(s["first_query_ms"] / s["read_json_ms"] for s in samples)
    # Scale: the same run copied into stores of N runs; the first query ingests them all.
    for count in cfg["scale"]:
        store = work / f"scale-{count}"
        (store / "runs").mkdir(parents=True)
        for n in range(count):
            target = store / "runs" / f"{run_dir.name[:-6]}{n:06x}"
            shutil.copytree(run_dir, target)
            record = json.loads((target / "run.json").read_text())
            record["run_id"] = target.name
            (target / "run.json").write_text(json.dumps(record))
        timed = []
        for _ in range(cfg["repeats"]):
            for stale in store.glob("index.duckdb*"):
                stale.unlink()
            timed.append(
                run_program(INGEST_CHILD, [str(store), str(target / "events.jsonl")], impl)
            )
        out[f"scale_{count}_ms"] = median_of(timed, "first_query_ms")
        shutil.rmtree(store)
    out["load_end"] = os.getloadavg()
    # Polls of an unchanged store of N runs.
    if impl is not None:
        return out
    many = copy_store(Path(stores["many"]), work / "token-many")
    tokens = [run_program(TOKEN_CHILD, [str(many)], None) for _ in range(cfg["repeats"])]
    out["token_unchanged_us"] = median_of(tokens, "unchanged_us")
    out["token_p90_us"] = median_of(tokens, "p90_us")
    out["token_first_ms"] = median_of(tokens, "first_ms")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="runs in the many-runs store (default 10000)")
    parser.add_argument("--steps", type=int, help="steps of the logging run (default 20000)")
    parser.add_argument("--repeats", type=int, help="fresh processes per measure (default 7)")
    parser.add_argument("--quick", action="store_true", help="1000 runs, 5000 steps, 3 repeats")
    parser.add_argument("--baseline", type=Path, help="another checkout to time in the same run")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers as JSON")
    parser.add_argument(
        "--ingest-only", action="store_true", help="only the ingest, scale and poll measures"
    )
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        default=[1, 10, 100],
        help="store sizes (runs of steps x 4 metrics) whose first query is timed",
    )
    args = parser.parse_args(argv)
    cfg = {
        "runs": args.runs or (1_000 if args.quick else 10_000),
        "steps": args.steps or (5_000 if args.quick else 20_000),
        "repeats": args.repeats or (3 if args.quick else 7),
        "scale": args.scale,
    }
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="trackrun-bench-store-") as tmp:
        work = Path(tmp)
        PYCACHE["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        print("[bench] building stores ...", file=sys.stderr, flush=True)
        stores: dict[str, Any] = build_query_stores(work / "pristine", cfg["steps"], 200)
        many = work / "pristine" / "many"
        cfg["write_runs_s"] = write_many_runs(many, cfg["runs"])
        stores["many"] = str(many)
        if args.ingest_only:
            print_ingest(measure_ingest(work, stores, cfg), cfg)
            if args.baseline:
                print_ingest(measure_ingest(work, stores, cfg, args.baseline.resolve()), cfg)
            return 0
        results["ingest"] = measure_ingest(work, stores, cfg)
        results["current"] = measure(None, work, stores, cfg)
        if args.baseline:
            results["baseline"] = measure(args.baseline.resolve(), work, stores, cfg)
    print_report(results, cfg)
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cfg, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
