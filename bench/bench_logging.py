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
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = ("trackrun", "mlflow", "wandb", "tensorboard")
PEERS = TOOLS[1:]
LR_LIMIT = 1e-3
ACC_THRESHOLD = 0.5
TRACKRUN_FILTER = f"params.lr < {LR_LIMIT:g} and metrics.acc > {ACC_THRESHOLD:g}"
POINTS_PER_RUN = 5
WARM_REPEATS = 5
CHECK_EVERY = 500
WORKER_TIMEOUT_S = 1800
COLD_TIMEOUT_S = 300

#: (key, label, unit) of the main table rows, in order.
MAIN_ROWS: tuple[tuple[str, str, str], ...] = (
    ("log_median_us", "log() median", "µs"),
    ("log_p99_us", "log() p99", "µs"),
    ("total_s", "total 20k steps incl. flush", "s"),
    ("create_runs_s", "create 200 runs", "s"),
    ("query_cold_ms", "filter query cold", "ms"),
    ("query_warm_ms", "filter query warm", "ms"),
    ("history_cold_ms", "history fetch cold", "ms"),
    ("history_warm_ms", "history fetch warm", "ms"),
)
#: Supplementary rows: breakdowns that explain the main ones.
EXTRA_ROWS: tuple[tuple[str, str, str], ...] = (
    ("start_run_s", "start run (not in total)", "s"),
    ("query_first_ms", "filter query, first after logging (incl. ingest)", "ms"),
    ("query_cold_with_imports_ms", "filter query cold, incl. lazy import of duckdb", "ms"),
    ("query_recomputed_ms", "filter query warm, recomputed (index open)", "ms"),
    ("history_first_ms", "history fetch, first after logging (incl. ingest)", "ms"),
    (
        "history_cold_with_imports_ms",
        "history fetch cold, incl. lazy import of duckdb, numpy",
        "ms",
    ),
    ("history_recomputed_ms", "history fetch warm, recomputed (index open)", "ms"),
    ("import_duckdb_ms", "one-time `import duckdb` (not in cold)", "ms"),
    ("import_numpy_ms", "one-time `import numpy` (not in cold)", "ms"),
)
EXTRAPOLATED = {"total_s": "total_extrapolated", "create_runs_s": "create_runs_extrapolated"}


# -- workload data --------------------------------------------------------------------------
def make_series(steps: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Deterministic loss, acc, lr and grad_norm values for ``steps`` steps (plain floats)."""
    rng = random.Random(0)
    loss, acc, lr, grad = [], [], [], []
    for i in range(steps):
        base = 2.0 / (1.0 + i / 500.0)
        loss.append(base + rng.gauss(0.0, 0.02))
        acc.append(min(1.0, max(0.0, 1.0 - base / 2.2 + rng.gauss(0.0, 0.01))))
        lr.append(1e-3 * 0.5 * (1.0 + math.cos(math.pi * i / max(steps, 1))))
        grad.append(abs(rng.gauss(1.0, 0.3)))
    return loss, acc, lr, grad


def make_runs(count: int) -> list[dict[str, Any]]:
    """``count`` run specs: params (lr, batch_size, optimizer) and 5 (loss, acc) points each."""
    rng = random.Random(1)
    specs = []
    for _ in range(count):
        final_acc = rng.uniform(0.3, 0.9)
        points = [
            (2.0 / (s + 1), final_acc * (s + 1) / POINTS_PER_RUN) for s in range(POINTS_PER_RUN)
        ]
        specs.append(
            {
                "params": {
                    "lr": 10 ** rng.uniform(-4.5, -2.0),
                    "batch_size": rng.choice([32, 64, 128, 256]),
                    "optimizer": rng.choice(["adam", "adamw", "sgd"]),
                },
                "points": points,
            }
        )
    return specs


def expected_matches(count: int) -> int:
    """How many of the ``count`` runs the filter query must return."""
    return sum(
        1
        for spec in make_runs(count)
        if spec["params"]["lr"] < LR_LIMIT and spec["points"][-1][1] > ACC_THRESHOLD
    )


# -- small helpers --------------------------------------------------------------------------
def percentile(sorted_values: list[int], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of an ascending list."""
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return float(sorted_values[index])


def latency_stats(latencies_ns: list[int]) -> dict[str, float]:
    """Median and p99 of per-call latencies, in microseconds."""
    ordered = sorted(latencies_ns)
    return {
        "log_median_us": statistics.median(ordered) / 1e3,
        "log_p99_us": percentile(ordered, 0.99) / 1e3,
    }


def over_budget(started: float, done: int, total: int, budget_s: float) -> bool:
    """True when ``budget_s`` has passed before all ``total`` items were done.

    The caller then stops and extrapolates linearly from the ``done`` items measured.
    """
    return done < total and time.perf_counter() - started > budget_s


def ms_since(start: float) -> float:
    """Milliseconds elapsed since the ``time.perf_counter()`` value ``start``."""
    return (time.perf_counter() - start) * 1e3


def timed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``call`` once; return (milliseconds, its result)."""
    start = time.perf_counter()
    result = call()
    return ms_since(start), result


def version_of(dist: str) -> str | None:
    """Installed version of distribution ``dist``, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def finish_logging_result(
    result: dict[str, Any], latencies: list[int], done: int, steps: int, elapsed_s: float
) -> None:
    """Store latency stats and the (possibly extrapolated) total of the logging phase."""
    result.update(latency_stats(latencies[:done]))
    result["steps_measured"] = done
    result["total_measured_s"] = elapsed_s
    result["total_s"] = elapsed_s * steps / done
    result["total_extrapolated"] = done < steps


def finish_runs_result(result: dict[str, Any], made: int, count: int, elapsed_s: float) -> None:
    """Store the (possibly extrapolated) time to create ``count`` runs."""
    result["runs_measured"] = made
    result["create_runs_measured_s"] = elapsed_s
    result["create_runs_s"] = elapsed_s * count / made
    result["create_runs_extrapolated"] = made < count


# -- per-tool workers (each runs in its own process) ----------------------------------------
def work_trackrun(cfg: dict[str, Any], root: Path) -> dict[str, Any]:
    """Workload 1-3 with trackrun; returns raw numbers and writes context.json for cold runs."""
    import trackrun

    steps, count, budget = cfg["steps"], cfg["runs"], cfg["budget"]
    loss, acc, lr, grad = make_series(steps)
    store_log, store_runs = root / "store_log", root / "store_runs"
    result: dict[str, Any] = {"version": version_of("trackrun")}
    latencies = [0] * steps
    log = trackrun.log
    clock = time.perf_counter_ns
    done = steps
    t_init = time.perf_counter()
    with trackrun.start_run(name="bench", params={"lr": 1e-3}, store=store_log) as run:
        t_start = time.perf_counter()
        result["start_run_s"] = t_start - t_init
        for i in range(steps):
            before = clock()
            log(loss=loss[i], acc=acc[i], lr=lr[i], grad_norm=grad[i], step=i)
            latencies[i] = clock() - before
            if i % CHECK_EVERY == CHECK_EVERY - 1 and over_budget(t_start, i + 1, steps, budget):
                done = i + 1
                break
    finish_logging_result(result, latencies, done, steps, time.perf_counter() - t_start)
    run_id = run.run_id

    specs = make_runs(count)
    t_start = time.perf_counter()
    made = count
    for n, spec in enumerate(specs):
        with trackrun.start_run(name=f"sweep-{n}", params=spec["params"], store=store_runs):
            for step, (point_loss, point_acc) in enumerate(spec["points"]):
                trackrun.log(loss=point_loss, acc=point_acc, step=step)
        if over_budget(t_start, n + 1, count, budget):
            made = n + 1
            break
    finish_runs_result(result, made, count, time.perf_counter() - t_start)

    def query() -> Any:
        return trackrun.runs(TRACKRUN_FILTER, store=store_runs)

    def history() -> Any:
        return trackrun.metrics(run_id, "loss", store=store_log)

    result["query_first_ms"], table = timed_ms(query)
    result["query_matches"] = len(table)
    result["history_first_ms"], table = timed_ms(history)
    result["history_points"] = len(table)
    for store in (store_runs, store_log):
        trackrun.get_store(store).close()
    context = {"store_log": str(store_log), "store_runs": str(store_runs), "run_id": run_id}
    (root / "context.json").write_text(json.dumps(context))
    return result


def cold_trackrun(kind: str, root: Path, preimport: bool) -> dict[str, Any]:
    """In a fresh process: time the first query (opening the index), then warm repeats.

    With ``preimport`` the third-party libraries trackrun imports lazily (duckdb, and numpy
    for histories) are imported first and timed on their own: the cold target excludes
    that one-time cost, as MLflow's cold query excludes importing mlflow.
    """
    import trackrun

    imports: dict[str, float] = {}
    if preimport:
        imports["import_duckdb_ms"], _ = timed_ms(lambda: __import__("duckdb"))
        if kind == "history":  # fetched as numpy arrays; a filter query needs no numpy
            imports["import_numpy_ms"], _ = timed_ms(lambda: __import__("numpy"))

    ctx = json.loads((root / "context.json").read_text())
    if kind == "query":
        store = ctx["store_runs"]

        def call() -> int:
            return len(trackrun.runs(TRACKRUN_FILTER, store=store))
    else:
        store = ctx["store_log"]

        def call() -> int:
            return len(trackrun.metrics(ctx["run_id"], "loss", store=store))

    out = measure_cold_warm(call)
    the_store = trackrun.get_store(store)
    forget = getattr(the_store, "_forget_answers", None)
    if forget is not None:
        # Remembered answers dropped: the query runs again on the open index.
        samples = []
        for _ in range(WARM_REPEATS):
            forget()
            samples.append(timed_ms(call)[0])
        out["recomputed_ms"] = statistics.median(samples)
    the_store.close()
    return {**out, **imports}


def measure_cold_warm(call: Callable[[], int]) -> dict[str, Any]:
    """Time the first ``call`` (cold) and ``WARM_REPEATS`` immediate repeats (warm)."""
    cold_ms, rows = timed_ms(call)
    warm = [timed_ms(call)[0] for _ in range(WARM_REPEATS)]
    return {"cold_ms": cold_ms, "warm_ms": statistics.median(warm), "warm_all_ms": warm, "n": rows}


def _mlflow_setup(root: Path) -> Any:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    return mlflow


def work_mlflow(cfg: dict[str, Any], root: Path) -> dict[str, Any]:
    """Workload 1-3 with MLflow (local sqlite backend, artifacts in the temp dir)."""
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    steps, count, budget = cfg["steps"], cfg["runs"], cfg["budget"]
    loss, acc, lr, grad = make_series(steps)
    _mlflow_setup(root)
    artifacts = (root / "artifacts").as_uri()
    exp_log = mlflow.create_experiment("bench-log", artifact_location=artifacts)
    exp_runs = mlflow.create_experiment("bench-runs", artifact_location=artifacts)
    result: dict[str, Any] = {"version": version_of("mlflow")}
    latencies = [0] * steps
    log_metrics = mlflow.log_metrics
    clock = time.perf_counter_ns
    done = steps
    t_init = time.perf_counter()
    run = mlflow.start_run(experiment_id=exp_log, run_name="bench")
    mlflow.log_params({"lr": 1e-3})
    t_start = time.perf_counter()
    result["start_run_s"] = t_start - t_init
    for i in range(steps):
        before = clock()
        log_metrics({"loss": loss[i], "acc": acc[i], "lr": lr[i], "grad_norm": grad[i]}, step=i)
        latencies[i] = clock() - before
        if i % CHECK_EVERY == CHECK_EVERY - 1 and over_budget(t_start, i + 1, steps, budget):
            done = i + 1
            break
    mlflow.end_run()
    finish_logging_result(result, latencies, done, steps, time.perf_counter() - t_start)
    run_id = run.info.run_id
    client = MlflowClient()
    if done < steps:  # top up the history (untimed) so the fetch below reads all the steps
        now = int(time.time() * 1000)
        for chunk in range(done, steps, 1000):
            upto = min(chunk + 1000, steps)
            batch = [Metric("loss", loss[i], now, i) for i in range(chunk, upto)]
            client.log_batch(run_id, metrics=batch)
        result["notes"] = [f"history topped up untimed from step {done} with log_batch"]

    specs = make_runs(count)
    t_start = time.perf_counter()
    made = count
    for n, spec in enumerate(specs):
        with mlflow.start_run(experiment_id=exp_runs, run_name=f"sweep-{n}"):
            mlflow.log_params(spec["params"])
            for step, (point_loss, point_acc) in enumerate(spec["points"]):
                mlflow.log_metrics({"loss": point_loss, "acc": point_acc}, step=step)
        if over_budget(t_start, n + 1, count, budget):
            made = n + 1
            break
    finish_runs_result(result, made, count, time.perf_counter() - t_start)

    result["query_first_ms"], result["query_matches"] = timed_ms(lambda: mlflow_query(exp_runs))
    result["history_first_ms"], points = timed_ms(lambda: client.get_metric_history(run_id, "loss"))
    result["history_points"] = len(points)
    context = {"exp_runs": exp_runs, "run_id": run_id}
    (root / "context.json").write_text(json.dumps(context))
    return result


def mlflow_query(experiment_id: str) -> int:
    """MLflow's version of the filter: metrics in SQL, ``lr`` in pandas (params are strings)."""
    import mlflow

    frame = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string=f"metrics.acc > {ACC_THRESHOLD}"
    )
    if len(frame) == 0:
        return 0
    return int((frame["params.lr"].astype(float) < LR_LIMIT).sum())


def cold_mlflow(kind: str, root: Path, preimport: bool) -> dict[str, Any]:
    """In a fresh process (mlflow imported): the first query opens the sqlite store."""
    from mlflow.tracking import MlflowClient

    _mlflow_setup(root)
    ctx = json.loads((root / "context.json").read_text())
    if kind == "query":
        return measure_cold_warm(lambda: mlflow_query(ctx["exp_runs"]))
    return measure_cold_warm(lambda: len(MlflowClient().get_metric_history(ctx["run_id"], "loss")))


def work_wandb(cfg: dict[str, Any], root: Path) -> dict[str, Any]:
    """Workload 1-2 with W&B in offline mode (no query API offline: 2's query and 3 are n/a)."""
    wandb_dir = root / "wandb"
    wandb_dir.mkdir()
    os.environ.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=str(wandb_dir),
        WANDB_CACHE_DIR=str(root / "wandb-cache"),
        WANDB_CONFIG_DIR=str(root / "wandb-config"),
        WANDB_DATA_DIR=str(root / "wandb-data"),
    )
    import wandb

    steps, count, budget = cfg["steps"], cfg["runs"], cfg["budget"]
    loss, acc, lr, grad = make_series(steps)
    result: dict[str, Any] = {"version": version_of("wandb")}
    latencies = [0] * steps
    clock = time.perf_counter_ns
    done = steps
    t_init = time.perf_counter()
    run = wandb.init(project="bench", name="bench", config={"lr": 1e-3}, dir=str(wandb_dir))
    log = wandb.log
    t_start = time.perf_counter()
    result["start_run_s"] = t_start - t_init
    for i in range(steps):
        before = clock()
        log({"loss": loss[i], "acc": acc[i], "lr": lr[i], "grad_norm": grad[i]}, step=i)
        latencies[i] = clock() - before
        if i % CHECK_EVERY == CHECK_EVERY - 1 and over_budget(t_start, i + 1, steps, budget):
            done = i + 1
            break
    run.finish()
    finish_logging_result(result, latencies, done, steps, time.perf_counter() - t_start)

    specs = make_runs(count)
    t_start = time.perf_counter()
    made = count
    for n, spec in enumerate(specs):
        sweep = wandb.init(
            project="bench-runs", name=f"sweep-{n}", config=spec["params"], dir=str(wandb_dir)
        )
        for step, (point_loss, point_acc) in enumerate(spec["points"]):
            wandb.log({"loss": point_loss, "acc": point_acc}, step=step)
        sweep.finish()
        if over_budget(t_start, n + 1, count, budget):
            made = n + 1
            break
    finish_runs_result(result, made, count, time.perf_counter() - t_start)
    result["notes"] = ["offline mode has no query API: filter query and history fetch n/a"]
    return result


def _tb_writer_class() -> tuple[Any, str]:
    """The SummaryWriter to use: torch's (needs tensorboard) or tensorboardX's."""
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter, "torch.utils.tensorboard"
    except ImportError:
        import tensorboardX

        return tensorboardX.SummaryWriter, "tensorboardX"


def work_tensorboard(cfg: dict[str, Any], root: Path) -> dict[str, Any]:
    """Workload 1-3 with a TensorBoard SummaryWriter (params via add_hparams; no query: n/a)."""
    writer_class, source = _tb_writer_class()
    steps, count, budget = cfg["steps"], cfg["runs"], cfg["budget"]
    loss, acc, lr, grad = make_series(steps)
    result: dict[str, Any] = {
        "version": version_of("tensorboard") or version_of("tensorboardX"),
        "notes": [f"writer: {source}; 4 add_scalar calls per step timed as one call"],
    }
    latencies = [0] * steps
    clock = time.perf_counter_ns
    done = steps
    logdir = root / "log"
    t_init = time.perf_counter()
    writer = writer_class(log_dir=str(logdir))
    add = writer.add_scalar
    t_start = time.perf_counter()
    result["start_run_s"] = t_start - t_init
    for i in range(steps):
        before = clock()
        add("loss", loss[i], i)
        add("acc", acc[i], i)
        add("lr", lr[i], i)
        add("grad_norm", grad[i], i)
        latencies[i] = clock() - before
        if i % CHECK_EVERY == CHECK_EVERY - 1 and over_budget(t_start, i + 1, steps, budget):
            done = i + 1
            break
    writer.close()
    finish_logging_result(result, latencies, done, steps, time.perf_counter() - t_start)

    specs = make_runs(count)
    t_start = time.perf_counter()
    made = count
    for n, spec in enumerate(specs):
        sweep = writer_class(log_dir=str(root / "runs" / f"sweep-{n}"))
        for step, (point_loss, point_acc) in enumerate(spec["points"]):
            sweep.add_scalar("loss", point_loss, step)
            sweep.add_scalar("acc", point_acc, step)
        sweep.add_hparams(spec["params"], {"hparam/acc": spec["points"][-1][1]})
        sweep.close()
        if over_budget(t_start, n + 1, count, budget):
            made = n + 1
            break
    finish_runs_result(result, made, count, time.perf_counter() - t_start)

    try:
        result["history_first_ms"], result["history_points"] = timed_ms(lambda: tb_history(logdir))
    except ImportError as error:
        result["notes"].append(f"no EventAccumulator ({error}): history fetch n/a")
    result["notes"].append("no query API: filter query n/a")
    (root / "context.json").write_text(json.dumps({"logdir": str(logdir)}))
    return result


def tb_history(logdir: Path) -> int:
    """Read every ``loss`` point back with a new EventAccumulator (no reservoir sampling)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return len(accumulator.Scalars("loss"))


def cold_tensorboard(kind: str, root: Path, preimport: bool) -> dict[str, Any]:
    """In a fresh process: read the event file back (warm = a new accumulator, same process)."""
    import tensorboard.backend.event_processing.event_accumulator  # noqa: F401

    logdir = Path(json.loads((root / "context.json").read_text())["logdir"])
    return measure_cold_warm(lambda: tb_history(logdir))


WORKERS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "trackrun": work_trackrun,
    "mlflow": work_mlflow,
    "wandb": work_wandb,
    "tensorboard": work_tensorboard,
}
COLD: dict[str, Callable[[str, Path, bool], dict[str, Any]]] = {
    "trackrun": cold_trackrun,
    "mlflow": cold_mlflow,
    "tensorboard": cold_tensorboard,
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


#: Where children keep compiled bytecode (a temporary folder; set by main_bench).
PYCACHE: dict[str, str] = {}


def child_env() -> dict[str, str]:
    """The children's environment, with bytecode caching on.

    An installed package (and every peer, in site-packages) has its .pyc files; with
    PYTHONDONTWRITEBYTECODE=1 (as in some CI shells) each fresh process would also time
    compiling trackrun's own modules. The cache goes to a temporary folder. The trackrun
    timed is this checkout's (first on ``PYTHONPATH``).
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYCACHE)
    # Time this checkout's trackrun, whatever an installed or editable copy points to.
    checkout = Path(__file__).resolve().parent.parent / "python_pkg"
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), env.get("PYTHONPATH", "")])
    return env


def run_child(args: list[str], out: Path, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run this script with ``args`` in a fresh interpreter; return (its JSON result, error)."""
    cmd = [sys.executable, os.path.abspath(__file__), *args, "--_out", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env())
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


def fmt_value(value: float, unit: str) -> str:
    """A number with about 3 significant digits and its unit."""
    if value < 1:
        text = f"{value:.3f}"
    elif value < 10:
        text = f"{value:.2f}"
    elif value < 100:
        text = f"{value:.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}"


def fmt_ratio(ratio: float) -> str:
    """A peer/trackrun ratio such as ``137x`` or ``0.4x``."""
    if ratio >= 10:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def cell(results: dict[str, dict[str, Any]], tool: str, key: str, unit: str) -> str:
    """One table cell: the value, ``~``/``*`` if extrapolated, and the ratio to trackrun."""
    data = results.get(tool, {})
    if "skipped" in data:
        return "skipped"
    value = data.get(key)
    if value is None:
        return "n/a"
    text = fmt_value(value, unit)
    if data.get(EXTRAPOLATED.get(key, ""), False):
        text = f"~{text}*"
    base = results.get("trackrun", {}).get(key)
    if tool != "trackrun" and base:
        text += f" ({fmt_ratio(value / base)})"
    return text


def render_table(
    results: dict[str, dict[str, Any]], rows: tuple[tuple[str, str, str], ...], cfg: dict[str, Any]
) -> str:
    """A Markdown table: one row per measure, one column per tool."""
    lines = ["| measure | " + " | ".join(TOOLS) + " |", "|---" * (len(TOOLS) + 1) + "|"]
    for key, label, unit in rows:
        label = label.replace("20k", f"{cfg['steps'] // 1000}k" if cfg["steps"] >= 1000 else "N")
        label = label.replace("200 runs", f"{cfg['runs']} runs")
        cells = [cell(results, tool, key, unit) for tool in TOOLS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_targets(results: dict[str, dict[str, Any]]) -> list[tuple[bool | None, str]]:
    """The trackrun targets as (passed, description); passed is None when not measured."""
    tr = results.get("trackrun", {})
    checks: list[tuple[bool | None, str]] = []

    def add(value: float | None, limit: float, unit: str, what: str) -> None:
        if value is None:
            checks.append((None, f"{what} < {limit:g} {unit}: not measured"))
        else:
            checks.append((value < limit, f"{what} < {limit:g} {unit}: {value:.3g} {unit}"))

    add(tr.get("log_median_us"), 3.0, "µs", "trackrun log() median")
    total = tr.get("total_s")
    peers = {p: results[p]["total_s"] for p in PEERS if results.get(p, {}).get("total_s")}
    if total is None or not peers:
        checks.append((None, "trackrun total >= 10x faster than every peer: not measured"))
    else:
        ratios = {p: t / total for p, t in peers.items()}
        text = ", ".join(f"{p} {r:.1f}x" for p, r in ratios.items())
        checks.append(
            (min(ratios.values()) >= 10, f"trackrun total >= 10x faster than every peer: {text}")
        )
    add(
        tr.get("query_cold_ms"),
        50,
        "ms",
        "trackrun filter query cold (fresh process, after imports)",
    )
    add(tr.get("query_warm_ms"), 5, "ms", "trackrun filter query warm")
    add(
        tr.get("history_cold_ms"),
        50,
        "ms",
        "trackrun history fetch cold (fresh process, after imports)",
    )
    add(tr.get("history_warm_ms"), 5, "ms", "trackrun history fetch warm")
    return checks


def environment() -> dict[str, Any]:
    """Machine and package versions, for the JSON report."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "versions": {
            d: version_of(d)
            for d in ("trackrun", "duckdb", "pyarrow", "mlflow", "wandb", "tensorboard", "torch")
        },
    }


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
