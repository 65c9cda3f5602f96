"""Steady-state ingest, pyarrow's reader against DuckDB's, interleaved in one process.

On a shared machine the load moves between two fresh processes more than the code under
test does; here both readers ingest alternate chunks of the same run in the same process
(the store's ``TRACKRUN_ARROW_READER=0`` turns the pyarrow reader off for a pass), so the
load hits both alike and their ratio holds. One run logs ``--steps`` steps x 4 metrics with
trackrun; then ``--chunks`` chunks of as many metric lines (later seqs and steps) are
appended and ingested one by one. Prints the median points per second of each reader (its
first chunk left out) and the load average.

    python bench/probe_ingest.py                 # 20,000 steps, 16 chunks
    python bench/probe_ingest.py --steps 5000 --chunks 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent.parent / "python_pkg")
sys.path.insert(0, _PACKAGE)
_LOG = """
import sys, trackrun
root, steps = sys.argv[1], int(sys.argv[2])
with trackrun.start_run(name="probe", store=root):
    for i in range(steps):
        trackrun.log(loss=1.0 / (i + 1), acc=i / steps, lr=1e-3, grad_norm=0.5, step=i)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRUN_")}
    env["PYTHONPATH"] = os.pathsep.join([_PACKAGE, env.get("PYTHONPATH", "")])
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="lines per chunk")
    parser.add_argument("--chunks", type=int, default=16, help="chunks, alternating readers")
    args = parser.parse_args(argv)
    import numpy  # noqa: F401 - loaded, as in a process that ingests again and again
    import pyarrow.json  # noqa: F401

    from trackrun.store import Store

    with tempfile.TemporaryDirectory(prefix="trackrun-probe-") as root:
        # Logged by another process, as a training script would (not this one's writer).
        subprocess.run([sys.executable, "-c", _LOG, root, str(args.steps)], check=True, env=_env())
        (run_dir,) = (Path(root) / "runs").iterdir()
        run_id, events = run_dir.name, run_dir / "events.jsonl"
        records = [json.loads(line) for line in events.read_text().splitlines()]
        metrics = [r for r in records if r.get("type") == "metrics"]
        seq, step = records[-1]["seq"], metrics[-1]["step"]
        store = Store(root)
        store.runs()
        rates: dict[str, list[float]] = {"pyarrow": [], "duckdb": []}
        for n in range(args.chunks):
            lines = []
            for record in metrics:
                seq, step = seq + 1, step + 1
                lines.append(json.dumps({**record, "seq": seq, "step": step}))
            reader = "pyarrow" if n % 2 else "duckdb"
            os.environ["TRACKRUN_ARROW_READER"] = "1" if reader == "pyarrow" else "0"
            with open(events, "a") as f:
                f.write("\n".join(lines) + "\n")
            start = time.perf_counter()
            store.ingest([run_id])
            rates[reader].append(4 * len(metrics) / (time.perf_counter() - start))
        store.close()
    medians = {reader: statistics.median(r[1:] or r) for reader, r in rates.items()}
    for reader, median in medians.items():
        print(f"{reader}: {median / 1e6:.2f} M points/s (median of {len(rates[reader]) - 1})")
    print(f"ratio pyarrow / duckdb: {medians['pyarrow'] / medians['duckdb']:.2f}")
    load = os.getloadavg()
    print(f"load average (1/5/15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
