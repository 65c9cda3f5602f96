"""Benchmark of the notebook side: what %%track_run adds to a cell, to a training loop, and
how fast --detach starts the job.

Uses a real kernel (jupyter_client) in a temporary git project. Targets (from the issues):
the magic adds < 50 ms to a trivial cell; tracking a 20-epoch loop that logs every batch
slows it by < 2%; launch to the job's first line < 2 s. Reports, never fails.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import jupyter_client

TRAIN = """
import time, torch, trackrun
from sklearn.datasets import load_digits
data = load_digits()
x = torch.tensor(data.data, dtype=torch.float32) / 16.0
y = torch.tensor(data.target)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
started = time.perf_counter()
for epoch in range(20):
    for i in range(0, len(x), 32):
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        LOG(loss=loss.item(), epoch=epoch)
elapsed = time.perf_counter() - started
"""


def run(client: jupyter_client.BlockingKernelClient, code: str) -> float:
    """Execute ``code``; return the round-trip seconds until the kernel is idle again."""
    started = time.perf_counter()
    reply = client.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(reply["content"])
    return time.perf_counter() - started


def value(client: jupyter_client.BlockingKernelClient, expression: str) -> Any:
    reply = client.execute_interactive(
        "", user_expressions={"v": expression}, timeout=60, output_hook=lambda msg: None
    )
    return eval(reply["content"]["user_expressions"]["v"]["data"]["text/plain"])  # noqa: S307


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        env = {k: v for k, v in os.environ.items() if k != "TRACKRUN_HOME"}
        manager = jupyter_client.KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(project), env=env)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        try:
            run(client, "%load_ext trackrun\nx = 0")
            run(client, "%%track_run\nx = 1")  # warm-up: first capture, imports
            plain = [run(client, "x = 1") for _ in range(15)]
            tracked = [run(client, "%%track_run\nx = 1") for _ in range(15)]
            overhead = (statistics.median(tracked) - statistics.median(plain)) * 1000
            print(f"trivial cell: plain {statistics.median(plain) * 1000:.1f} ms, "
                  f"tracked {statistics.median(tracked) * 1000:.1f} ms -> the magic adds {overhead:.1f} ms "
                  f"({'PASS' if overhead < 50 else 'FAIL'} < 50 ms)")  # fmt: skip

            run(client, "def _nolog(**kw):\n    pass")
            untracked, with_log = [], []
            for _ in range(3):
                run(client, TRAIN.replace("LOG(", "_nolog("))
                untracked.append(value(client, "elapsed"))
                run(
                    client,
                    "%%track_run --no-auto-params\n" + TRAIN.replace("LOG(", "trackrun.log("),
                )
                with_log.append(value(client, "elapsed"))
            slowdown = (statistics.median(with_log) / statistics.median(untracked) - 1) * 100
            print(f"20-epoch loop logging every batch (1,140 log calls): untracked "
                  f"{statistics.median(untracked):.2f} s, tracked {statistics.median(with_log):.2f} s "
                  f"-> {slowdown:+.1f}% ({'PASS' if slowdown < 2 else 'FAIL'} < 2%)")  # fmt: skip

            marker = project / "first_line.txt"
            latencies = []
            for _ in range(3):
                marker.unlink(missing_ok=True)
                cell = f"%%track_run --detach\nimport time\nopen({str(marker)!r}, 'w').write(repr(time.time()))"
                sent = time.time()
                run(client, cell)
                while not marker.exists() or not marker.read_text():
                    time.sleep(0.005)
                latencies.append(float(marker.read_text()) - sent)
            median = statistics.median(latencies)
            print(f"--detach: launch to the job's first line {median:.2f} s "
                  f"(runs: {', '.join(f'{v:.2f}' for v in latencies)}) ({'PASS' if median < 2 else 'FAIL'} < 2 s)")  # fmt: skip
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
