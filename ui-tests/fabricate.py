"""Run directories written straight to a store, in the format Run.start and EventWriter use.

Fast enough for 10,000 runs in a few seconds; the server ingests them like any others.
Run as a script (``python fabricate.py STORE COUNT``) or call ``write_runs``; a sweep (its
runs and its record in ``<store>/sweeps/``) with ``write_sweep``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FakeRun:
    """One finished run: its name, params, metric curves and log text."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    notebook: str | None = None
    log: str = ""
    status: str = "finished"
    started_at: float | None = None
    duration: float = 12.0
    code: str | None = None
    #: Exit codes of a detached run's attempts, as its supervisor records them (negative: the
    #: signal that ended it); empty for an inline run.
    attempts: list[int] = field(default_factory=list)
    note: str | None = None
    #: The run's launch record (a sweep point's: ``{"detached": True, "sweep": {...}}``).
    launch: dict[str, Any] = field(default_factory=dict)


def run_id_at(when: float, n: int) -> str:
    """A run id in the store's pattern, unique per ``n``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(when))
    return f"{stamp}-{n & 0xFFFFFF:06x}"


def write_runs(store: Path, runs: Iterable[FakeRun], seed: int = 0) -> list[str]:
    """Write each run as ``store/runs/<id>/`` (run.json, events.jsonl, output.log, code/)."""
    rng = random.Random(seed)
    root = store / "runs"
    root.mkdir(parents=True, exist_ok=True)
    ids = []
    for i, run in enumerate(runs):
        start = run.started_at or time.time() - 3600 + i
        run_id = run_id_at(start, rng.getrandbits(24))
        while (root / run_id).exists():
            run_id = run_id_at(start, rng.getrandbits(24))
        folder = root / run_id
        folder.mkdir(mode=0o700)
        record = {
            "format_version": 1,
            "run_id": run_id,
            "name": run.name,
            "created_at": start,
            "notebook": run.notebook,
            "cell_id": None,
            "note": run.note,
            "params": run.params,
            "tags": run.tags,
            "provenance": {},
            "launch": run.launch,
        }
        (folder / "run.json").write_text(json.dumps(record))
        seq = 1
        lines = [
            {"seq": seq, "type": "status", "time": start, "status": "running",
             "pid": os.getpid(), "proc_start": "0", "host": "fabricated"}
        ]  # fmt: skip
        if run.status == "queued":
            # A detached run waiting for a slot: its job folder (where a start is claimed),
            # never started, so nothing else happened to it.
            lines = [{"seq": seq, "type": "status", "time": start, "status": "queued"}]
            (folder / "job").mkdir(mode=0o700)
        # (a queued run has not run: it logged nothing)
        steps = (
            0 if run.status == "queued" else max((len(v) for v in run.metrics.values()), default=0)
        )
        for step in range(steps):
            values = {k: v[step] for k, v in run.metrics.items() if step < len(v)}
            seq += 1
            t = start + run.duration * (step + 1) / (steps + 1)
            lines.append({"seq": seq, "type": "metrics", "time": t, "step": step, "values": values})
        if run.status not in ("running", "queued"):
            seq += 1
            lines.append(
                {"seq": seq, "type": "status", "time": start + run.duration, "status": run.status}
            )
        (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
        if run.attempts:
            events, t = [], start
            for n, code in enumerate(run.attempts, 1):
                events.append(
                    {
                        "seq": 2 * n - 1,
                        "type": "attempt",
                        "time": t,
                        "attempt": n,
                        "state": "started",
                        "pid": os.getpid(),
                    }
                )
                t += run.duration / len(run.attempts)
                events.append(
                    {
                        "seq": 2 * n,
                        "type": "attempt",
                        "time": t,
                        "attempt": n,
                        "state": "ended",
                        "exit_code": code,
                    }
                )
            (folder / "events.supervisor.jsonl").write_text(
                "".join(json.dumps(e) + "\n" for e in events)
            )  # fmt: skip
        if run.log:
            (folder / "output.log").write_text(run.log)
        if run.code is not None:
            (folder / "code").mkdir()
            (folder / "code" / "cell.py").write_text(run.code)
        ids.append(run_id)
    return ids


def many_runs(count: int, seed: int = 0) -> list[FakeRun]:
    """``count`` varied finished runs (a sweep over lr, width and seed) for scale tests."""
    rng = random.Random(seed)
    now = time.time() - count
    out = []
    for i in range(count):
        lr = rng.choice([1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
        final = 0.5 + 0.45 * rng.random()
        curve = [final * (1 - math.exp(-(s + 1) / 3)) for s in range(5)]
        out.append(
            FakeRun(
                name=f"sweep-{i:05d}",
                params={"lr": lr, "width": rng.choice([64, 128, 256]), "seed": i % 5},
                metrics={"val_acc": curve, "loss": [1.0 - c for c in curve]},
                notebook="/work/project/sweep.ipynb",
                status=rng.choice(["finished"] * 8 + ["failed", "killed"]),
                started_at=now + i,
                duration=rng.uniform(5, 500),
            )
        )
    return out


def write_sweep(
    store: Path,
    name: str,
    grid: dict[str, list[Any]],
    final: Callable[[dict[str, Any]], float | None],
    metric: str = "val_acc",
    goal: str = "max",
    status: Callable[[dict[str, Any]], str] | None = None,
    started_at: float | None = None,
) -> tuple[str, list[str]]:
    """A sweep over the ``grid`` (name: values, the last varying fastest), as
    ``%%track_run --sweep`` leaves it: one run per point, tagged ``sweep:<name>`` and
    ``sweep:<id>``, and the record ``<store>/sweeps/<id>.json``.

    ``final(point)`` is the last value of ``metric`` a point logged (its curve rises to
    it; None: it logged nothing); ``status(point)`` its status (default finished; a
    ``queued`` point is a detached run waiting for a slot). Returns the sweep id and its
    run ids in point order.
    """
    when = started_at or time.time() - 1800
    sweep_id = "sw-" + run_id_at(when, random.Random(name).getrandbits(24))
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    width = len(str(len(points)))
    runs = []
    for index, point in enumerate(points):
        value = final(point)
        runs.append(
            FakeRun(
                name=f"{name}-{index + 1:0{width}d}",
                params=point,
                metrics={} if value is None else {metric: [value * 0.6, value * 0.9, value]},
                tags=[f"sweep:{name}", f"sweep:{sweep_id}"],
                status=status(point) if status else "finished",
                started_at=when + index,
                launch={
                    "kind": "detached",
                    "detached": True,
                    "sweep": {"id": sweep_id, "name": name, "index": index},
                },
            )
        )
    run_ids = write_runs(store, runs, seed=len(name))
    record = {
        "sweep_id": sweep_id,
        "name": name,
        "text": " ".join(f"{k}={v!r}".replace("'", "") for k, v in grid.items()),
        "samples": None,
        "seed": None,
        "parallel": 2,
        "metric": metric,
        "goal": goal,
        "backend": "local",
        "created_at": when,
        "run_ids": run_ids,
        "points": points,
    }
    folder = store / "sweeps"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / f"{sweep_id}.json").write_text(json.dumps(record))
    return sweep_id, run_ids


if __name__ == "__main__":
    started = time.perf_counter()
    made = write_runs(Path(sys.argv[1]), many_runs(int(sys.argv[2])))
    print(f"{len(made)} runs in {time.perf_counter() - started:.1f}s")
