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
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python_pkg"))
import bench_logging  # noqa: E402

FILTER = bench_logging.TRACKRUN_FILTER

#: Child process: time the first call of a query kind, with or without the imports first.
CHILD = r"""
import json, statistics, sys, time
kind, store, run_id, preimport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
FILTER = sys.argv[5]
out = {}
import trackrun
if preimport:
    t = time.perf_counter()
    import duckdb
    out["import_duckdb_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    import numpy
    out["import_numpy_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    import pyarrow  # trackrun no longer needs it; older versions imported it with the store
    out["import_pyarrow_ms"] = (time.perf_counter() - t) * 1e3
if kind == "query":
    call = lambda: len(trackrun.runs(FILTER, store=store))
elif kind == "history":
    call = lambda: len(trackrun.metrics(run_id, "loss", store=store))
else:
    call = lambda: len(trackrun.runs(store=store))
t = time.perf_counter()
out["rows"] = call()
out["cold_ms"] = (time.perf_counter() - t) * 1e3
s = trackrun.get_store(store)
out["pyarrow_imported"] = "pyarrow" in sys.modules
out["numpy_imported"] = "numpy" in sys.modules
warm = []
for _ in range(7):
    t = time.perf_counter(); call(); warm.append((time.perf_counter() - t) * 1e3)
out["warm_ms"] = statistics.median(warm)
forget = getattr(s, "_forget_answers", None)
if forget is not None:
    again = []
    for _ in range(7):
        forget()
        t = time.perf_counter(); call(); again.append((time.perf_counter() - t) * 1e3)
    out["recomputed_ms"] = statistics.median(again)
s.close()
print(json.dumps(out))
"""


#: Child process: the first query after logging (ingest into a new index) against DuckDB's
#: own read_json of the same events.jsonl into a table, in the same process; then steady
#: state: chunks of the same size appended and ingested.
INGEST_CHILD = r"""
import json, os, shutil, sys, time
store, events, chunks = sys.argv[1], sys.argv[2], sys.argv[3:]
import duckdb
import trackrun
from trackrun.store import Store
out = {}
s = Store(store)
t = time.perf_counter()
out["rows"] = len(s.runs())
out["first_query_ms"] = (time.perf_counter() - t) * 1e3
con = duckdb.connect()
path = events.replace("'", "''")
t = time.perf_counter()
con.execute(f"CREATE TABLE e AS SELECT * FROM read_json('{path}', format = 'newline_delimited')")
out["read_json_ms"] = (time.perf_counter() - t) * 1e3
out["lines"] = con.execute("SELECT count(*) FROM e").fetchone()[0]
con.close()
run_id = os.path.basename(os.path.dirname(events))
rates = []
for chunk in chunks:
    data = open(chunk, "rb").read()
    points = data.count(b'"metrics"') * 4
    with open(events, "ab") as f:
        f.write(data)
    t = time.perf_counter()
    s.ingest([run_id])
    rates.append(points / (time.perf_counter() - t))
# The first chunk pays one-time costs (the store imports pyarrow for a process that
# ingests again): shown apart; steady state is the median of the later chunks.
out["steady_first_points_per_s"] = rates[0] if rates else None
later = sorted(rates[1:])
out["steady_points_per_s"] = later[len(later) // 2] if later else None
s.close()
print(json.dumps(out))
"""

#: Child process: change_token of an unchanged store (after a first look), in microseconds.
TOKEN_CHILD = r"""
import json, statistics, sys, time
from trackrun.store import Store
s = Store(sys.argv[1])
t = time.perf_counter(); first = s.change_token(); cold = (time.perf_counter() - t) * 1e3
s.close()
times = []
for _ in range(200):
    t = time.perf_counter(); token = s.change_token(); times.append((time.perf_counter() - t) * 1e6)
assert token == first
print(json.dumps({"first_ms": cold, "unchanged_us": statistics.median(times), "p90_us": sorted(times)[180]}))
"""

#: Where child processes keep compiled bytecode (set by main; see child_env).
PYCACHE: dict[str, str] = {}


def child_env(impl: Path | None) -> dict[str, str]:
    """The environment of a child: no TRACKRUN_* settings, and bytecode caching on.

    An installed package has its .pyc files; without them (PYTHONDONTWRITEBYTECODE=1, as in
    some CI shells) every fresh process would also time compiling trackrun's own modules.
    The cache goes to a temporary folder, never into the checkout. The package timed is
    the one of this checkout (or ``impl``), first on ``PYTHONPATH``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRUN_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYCACHE)
    # This checkout's package (or the baseline's), whatever an editable install points to.
    source = impl or Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(source / "python_pkg"), env.get("PYTHONPATH", "")])
    return env


def run_child(
    args: list[str], impl: Path | None, timeout: float = 600, code: str = CHILD
) -> dict[str, Any]:
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


def median_of(samples: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if key in s]
    return statistics.median(values) if values else None


# -- building stores -------------------------------------------------------------------------
def write_many_runs(store: Path, count: int) -> float:
    """Write ``count`` finished runs in the run directory format; returns seconds taken.

    One run is made with ``Run.start`` to copy the exact format; the others are written
    directly (a Run per run would start a flusher thread each). Times spread over 30 days,
    and each directory's mtime is its creation time, as on a store that grew over time.
    """
    from trackrun.run import Run

    template = Run.start(store, name="template", params={"lr": 1e-3}, provenance={})
    template.log({"loss": 1.0, "acc": 0.5}, step=0)
    template.finish()
    record = json.loads(template.paths.run_json.read_text())
    identity = json.loads(template.paths.events.read_text().splitlines()[0])
    shutil.rmtree(template.dir)
    rng = random.Random(2)
    start = time.perf_counter()
    now = time.time()
    for n in range(count):
        created = now - 30 * 86400 + n * (30 * 86400 / count)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created))
        run_id = f"{stamp}-{n:06x}"
        folder = store / "runs" / run_id
        folder.mkdir(mode=0o700)
        params = {
            "lr": 10 ** rng.uniform(-4.5, -2.0),
            "batch_size": rng.choice([32, 64, 128, 256]),
            "optimizer": rng.choice(["adam", "adamw", "sgd"]),
        }
        run_json = {**record, "run_id": run_id, "name": f"run-{n}", "created_at": created}
        run_json.update(params=params, tags=["sweep"])
        (folder / "run.json").write_text(json.dumps(run_json, indent=1))
        lines = [{**identity, "seq": 1, "time": created + 0.1}]
        final = rng.uniform(0.3, 0.9)
        for step in range(5):
            lines.append(
                {
                    "seq": step + 2,
                    "type": "metrics",
                    "time": created + 1 + step,
                    "step": step,
                    "values": {"loss": 2.0 / (step + 1), "acc": final * (step + 1) / 5},
                }
            )
        lines.append({"seq": 7, "type": "status", "time": created + 7, "status": "finished"})
        (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
        os.utime(folder, (created, created))
    return time.perf_counter() - start


def build_query_stores(root: Path, steps: int, runs: int) -> dict[str, str]:
    """The stores of bench_logging.py: one run of ``steps`` x 4 metrics, ``runs`` small runs."""
    code = r"""
import json, sys
sys.path.insert(0, sys.argv[4])
import bench_logging as b
import trackrun
root, steps, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
loss, acc, lr, grad = b.make_series(steps)
with trackrun.start_run(name="bench", params={"lr": 1e-3}, store=root + "/store_log") as run:
    for i in range(steps):
        trackrun.log(loss=loss[i], acc=acc[i], lr=lr[i], grad_norm=grad[i], step=i)
for n, spec in enumerate(b.make_runs(runs)):
    with trackrun.start_run(name=f"sweep-{n}", params=spec["params"], store=root + "/store_runs"):
        for step, (l, a) in enumerate(spec["points"]):
            trackrun.log(loss=l, acc=a, step=step)
print(json.dumps({"run_id": run.run_id}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root), str(steps), str(runs), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=child_env(None),
        check=True,
    )
    run_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    return {
        "store_log": str(root / "store_log"),
        "store_runs": str(root / "store_runs"),
        "run_id": run_id,
    }


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a store without its index (mtimes kept)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("index.duckdb*", "index.lock"))
    return target


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
        first = run_child([kind, str(store), stores["run_id"], "1", FILTER], impl)
        out[f"{kind}_first_ingest_ms"] = first["cold_ms"]
        pre = [
            run_child([kind, str(store), stores["run_id"], "1", FILTER], impl)
            for _ in range(repeats)
        ]
        lazy = [
            run_child([kind, str(store), stores["run_id"], "0", FILTER], impl)
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
        samples.append(run_child(["history", str(fresh), stores["run_id"], "1", FILTER], impl))
        shutil.rmtree(fresh)
    out["ingest_first_history_ms"] = median_of(samples, "cold_ms")

    # 1. trackrun ls on many runs.
    many = copy_store(Path(stores["many"]), mine / "many")
    out["ls_first_s"] = timed_cli(["ls"], many, impl)
    out["ls_s"] = statistics.median(timed_cli(["ls"], many, impl) for _ in range(repeats))
    out["ls_all_s"] = statistics.median(
        timed_cli(["ls", "--limit", "0"], many, impl) for _ in range(repeats)
    )
    big = [run_child(["all", str(many), "-", "1", FILTER], impl) for _ in range(repeats)]
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
        samples.append(run_child(args, impl, code=INGEST_CHILD))
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
                run_child([str(store), str(target / "events.jsonl")], impl, code=INGEST_CHILD)
            )
        out[f"scale_{count}_ms"] = median_of(timed, "first_query_ms")
        shutil.rmtree(store)
    out["load_end"] = os.getloadavg()
    # Polls of an unchanged store of N runs.
    if impl is not None:
        return out
    many = copy_store(Path(stores["many"]), work / "token-many")
    tokens = [run_child([str(many)], None, code=TOKEN_CHILD) for _ in range(cfg["repeats"])]
    out["token_unchanged_us"] = median_of(tokens, "unchanged_us")
    out["token_p90_us"] = median_of(tokens, "p90_us")
    out["token_first_ms"] = median_of(tokens, "first_ms")
    return out


def print_ingest(result: dict[str, Any], cfg: dict[str, Any]) -> None:
    if "token_unchanged_us" not in result:
        result = {**result, "token_unchanged_us": 0, "token_p90_us": 0, "token_first_ms": None}
    print(
        f"\n## ingest: {cfg['steps']:,} steps x 4 metrics, median of {cfg['repeats']} fresh "
        f"processes\n\n| measure | value |\n|---|---|"
    )
    rows = (
        ("first query after logging (new index, ingest)", fmt(result["first_query_ms"], "ms")),
        (
            "DuckDB read_json of the same events.jsonl, same process",
            fmt(result["read_json_ms"], "ms"),
        ),
        ("ratio (target <= 1.5)", f"{result['ratio']:.2f}"),
        (
            "steady state, appended chunks after the first (target >= 2M)",
            f"{result['steady_points_per_s'] / 1e6:.2f} M points/s",
        ),
        (
            "first appended chunk (one-time costs: pyarrow's import)",
            f"{result['steady_first_points_per_s'] / 1e6:.2f} M points/s",
        ),
        *(
            (
                f"first query, {n} run{'s' if n > 1 else ''} x {cfg['steps']:,} x 4",
                fmt(result.get(f"scale_{n}_ms"), "ms"),
            )
            for n in cfg["scale"]
        ),
        (
            f"change_token, unchanged store of {cfg['runs']:,} runs (target < 2 ms)",
            f"{result['token_unchanged_us']:.0f} us (p90 {result['token_p90_us']:.0f} us)",
        ),
        (f"change_token, first look at {cfg['runs']:,} runs", fmt(result["token_first_ms"], "ms")),
    )
    for label, value in rows:
        print(f"| {label} | {value} |")
    start, end = result["load_start"], result["load_end"]
    print(
        f"\nLoad average (1/5/15 min) at the start: {start[0]:.2f} {start[1]:.2f} {start[2]:.2f}; "
        f"after the growth rows: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}"
    )


ROWS: tuple[tuple[str, str, str], ...] = (
    ("import_duckdb_ms", "one-time `import duckdb` (fresh process)", "ms"),
    ("import_numpy_ms", "one-time `import numpy` (fresh process)", "ms"),
    ("import_pyarrow_ms", "one-time `import pyarrow` (after numpy)", "ms"),
    ("query_cold_ms", "filter query, 200 runs: cold (after the imports above)", "ms"),
    ("query_cold_incl_imports_ms", "filter query: cold incl. lazy imports", "ms"),
    ("query_warm_ms", "filter query: warm", "ms"),
    ("query_recomputed_ms", "filter query: warm, recomputed (index open)", "ms"),
    ("history_cold_ms", "history fetch, 20k points: cold (after the imports above)", "ms"),
    ("history_cold_incl_imports_ms", "history fetch: cold incl. lazy imports", "ms"),
    ("history_warm_ms", "history fetch: warm", "ms"),
    ("history_recomputed_ms", "history fetch: warm, recomputed (index open)", "ms"),
    ("ingest_first_history_ms", "first query after logging (ingest 20k lines)", "ms"),
    ("ls_first_s", "`trackrun ls`, N runs, first (builds the index)", "s"),
    ("ls_s", "`trackrun ls`, N runs", "s"),
    ("ls_all_s", "`trackrun ls --limit 0`, N runs", "s"),
    ("many_runs_cold_ms", "Store.runs(), N runs: cold (after imports)", "ms"),
    ("many_runs_warm_ms", "Store.runs(), N runs: warm", "ms"),
    ("many_runs_recomputed_ms", "Store.runs(), N runs: warm, recomputed", "ms"),
)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return (
        f"{value:.2f} {unit}"
        if value < 10
        else f"{value:,.0f} {unit}"
        if value >= 100
        else f"{value:.1f} {unit}"
    )


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
    columns = ["current"] + (["baseline"] if args.baseline else [])
    print(
        f"\n## trackrun store: N = {cfg['runs']:,} runs, {cfg['steps']:,} steps, "
        f"median of {cfg['repeats']} fresh processes (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs)\n"
    )
    print("| measure | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    many_label = f"{cfg['runs']:,} runs"
    for key, label, unit in ROWS:
        cells = [fmt(results[c].get(key), unit) for c in columns]
        print(f"| {label.replace('N runs', many_label)} | " + " | ".join(cells) + " |")
    current = results["current"]
    print_ingest(results["ingest"], cfg)
    print(
        f"\nWrote {cfg['runs']:,} run directories in {cfg['write_runs_s']:.1f} s. "
        f"Rows: filter {current['query_rows']}, history {current['history_rows']}, "
        f"ls {current['many_runs_rows']}. pyarrow imported by a query: "
        f"{current['query_pyarrow_imported'] or current['history_pyarrow_imported']}."
    )
    checks = [
        ("filter query cold < 50 ms", current.get("query_cold_ms"), 50.0),
        ("filter query warm < 5 ms", current.get("query_warm_ms"), 5.0),
        ("history fetch cold < 50 ms", current.get("history_cold_ms"), 50.0),
        ("history fetch warm < 5 ms", current.get("history_warm_ms"), 5.0),
        (f"trackrun ls on {cfg['runs']:,} runs < 1 s", current.get("ls_s"), 1.0),
    ]
    print()
    for text, value, limit in checks:
        status = "SKIP" if value is None else "PASS" if value < limit else "FAIL"
        print(f"{status}: {text}: {value:.3g}" if value is not None else f"{status}: {text}")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cfg, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
