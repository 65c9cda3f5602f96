# mypy: disable-error-code="import-untyped, import-not-found"
"""bench_logging.py's peers on its workload: MLflow (a local sqlite store), Weights & Biases
(offline) and TensorBoard (event files; torch's SummaryWriter or tensorboardX's).

Each ``work_*`` runs workload 1-3 in its own fresh process and returns raw numbers (writing
context.json for the cold measurements); each ``cold_*`` times a first query in yet another
fresh process. Workloads a tool has no API for are reported n/a in its notes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from workload import (
    ACC_THRESHOLD,
    CHECK_EVERY,
    LR_LIMIT,
    finish_logging_result,
    finish_runs_result,
    make_runs,
    make_series,
    measure_cold_warm,
    over_budget,
    timed_ms,
    version_of,
)


# -- MLflow ---------------------------------------------------------------------------------
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


# -- Weights & Biases -----------------------------------------------------------------------
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


# -- TensorBoard ----------------------------------------------------------------------------
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
