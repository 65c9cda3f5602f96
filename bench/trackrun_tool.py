"""trackrun's side of bench_logging.py's workload: the worker that logs and queries in its own
fresh process, and the cold measurements, each in yet another fresh process.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from workload import (
    CHECK_EVERY,
    TRACKRUN_FILTER,
    WARM_REPEATS,
    finish_logging_result,
    finish_runs_result,
    make_runs,
    make_series,
    measure_cold_warm,
    over_budget,
    timed_ms,
    version_of,
)


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
