"""The stores the store and scale benchmarks measure: many small finished runs written
straight in the run directory format, the stores of bench_logging.py's workload logged
through trackrun, and copies of a store without its index.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from children import child_env


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
    """The stores of bench_logging.py's workload: one run of ``steps`` x 4 metrics, and
    ``runs`` small runs."""
    code = r"""
import json, sys
sys.path.insert(0, sys.argv[4])
import workload as b
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
