"""The workload of bench_logging.py, identical for every tool, and how its numbers are taken.

1. one run of ``steps`` steps x 4 metrics (loss, acc, lr, grad_norm), one log call a step;
2. ``runs`` runs with 3 params and 5 metric points each, then a filter query
   ``params.lr < 1e-3 and metrics.acc > 0.5``;
3. the full history of one metric of run 1.

A tool still logging after the budget is stopped there and its total extrapolated linearly
(``over_budget``, ``finish_logging_result``, ``finish_runs_result``).
"""

from __future__ import annotations

import importlib.metadata
import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

TOOLS = ("trackrun", "mlflow", "wandb", "tensorboard")

PEERS = TOOLS[1:]

LR_LIMIT = 1e-3

ACC_THRESHOLD = 0.5

TRACKRUN_FILTER = f"params.lr < {LR_LIMIT:g} and metrics.acc > {ACC_THRESHOLD:g}"

POINTS_PER_RUN = 5

WARM_REPEATS = 5

CHECK_EVERY = 500


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


# -- measuring ------------------------------------------------------------------------------
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


def measure_cold_warm(call: Callable[[], int]) -> dict[str, Any]:
    """Time the first ``call`` (cold) and ``WARM_REPEATS`` immediate repeats (warm)."""
    cold_ms, rows = timed_ms(call)
    warm = [timed_ms(call)[0] for _ in range(WARM_REPEATS)]
    return {"cold_ms": cold_ms, "warm_ms": statistics.median(warm), "warm_all_ms": warm, "n": rows}


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
