"""Benchmark of attaching a detached run's outputs: the one-graph load and the in-place merge
of a ~100 MB model (with its optimizer) into the kernel's objects.

Run from the repository root: ``python bench/bench_attach.py [--mb 100]``. The kernel and
the job are played in this process with real pickles and a real run folder: freeze the
inputs, load them as the job does, train one step, save the outputs, then attach (verify the
signature, unpickle, merge in place). Reported as seconds and as a ratio to the baseline of
``torch.save`` + ``torch.load`` of the same model's state dict. Reports, never fails.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from trackrun.jobs.freeze import freeze_inputs, save_outputs
from trackrun.jobs.graph import load_graph
from trackrun.jobs.launch_records import remember
from trackrun.jobs.merge import attach_outputs
from trackrun.layout import RunPaths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100.0, help="model size in MB (float32)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    width = int((args.mb * 1024**2 / 4 / 4) ** 0.5)  # 4 square layers
    ns: dict[str, Any] = {"__name__": "__main__", "torch": torch}
    ns["model"] = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(4)])
    ns["opt"] = torch.optim.SGD(ns["model"].parameters(), lr=0.01)
    size = sum(p.numel() * 4 for p in ns["model"].parameters()) / 1024**2
    with tempfile.TemporaryDirectory() as tmp:
        run = RunPaths(Path(tmp) / "store" / "runs" / "20260101-000000-aaaaaa")
        run.job.mkdir(parents=True)
        frozen = freeze_inputs(ns, ["model", "opt", "torch"])
        remember(run.run_id, frozen.objects, [ns[n] for n in frozen.names])
        job: dict[str, Any] = {"__name__": "__main__"}
        inputs, memo = load_graph(frozen.payload, job)
        del frozen
        job.update(inputs)
        loss = job["model"](torch.ones(2, width)).sum()
        loss.backward()
        job["opt"].step()
        spec = {"outputs": None, "assigned": [], "inputs": ["model", "opt"], "written": []}
        save_outputs(run, job, spec, {id(o): i for i, o in memo.items()})
        del job, inputs, memo
        started = time.perf_counter()
        attached = attach_outputs(run, ns)
        attach_s = time.perf_counter() - started
        assert attached is not None and "model" in attached[1].in_place
        started = time.perf_counter()
        buffer = io.BytesIO()
        torch.save(ns["model"].state_dict(), buffer)
        buffer.seek(0)
        ns["model"].load_state_dict(torch.load(buffer))
        baseline_s = time.perf_counter() - started
    print(f"model {size:.0f} MB: attach (verify + unpickle + merge in place) {attach_s:.2f} s; ")
    print(
        f"torch.save + torch.load of its state dict {baseline_s:.2f} s; ratio {attach_s / baseline_s:.2f}"
    )


if __name__ == "__main__":
    main()
