"""GPU check (run on a machine with a CUDA GPU; not part of the test suite).

1. Provenance lists the CUDA devices once CUDA is initialised.
2. Logging 0-d CUDA tensors does not synchronise the GPU on the hot path: a training loop
   that logs the loss tensor runs about as fast as one that logs nothing, while logging
   ``loss.item()`` forces a sync per step; the logged values equal ``loss.item()``.
3. A detached job started with ``--gpu 0`` sees exactly that device.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import trackrun
from trackrun import jobs
from trackrun.capture import capture_hardware
from trackrun.run import Run


def training_loop(log_mode: str, steps: int, store: Path) -> tuple[float, list[float], str | None]:
    """Train a small MLP on random data on the GPU; return (steps/s, reference losses, run id)."""
    torch.manual_seed(0)
    device = torch.device("cuda")
    model = torch.nn.Sequential(
        torch.nn.Linear(512, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 10)
    ).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(steps, 256, 512, device=device)
    y = torch.randint(0, 10, (steps, 256), device=device)
    kept: list[torch.Tensor] = []
    run = trackrun.start_run(name=f"gpu-{log_mode}", store=store) if log_mode != "none" else None
    torch.cuda.synchronize()
    started = time.perf_counter()
    for step in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x[step]), y[step])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if log_mode == "tensor":
            trackrun.log(loss=loss, step=step)
        elif log_mode == "item":
            trackrun.log(loss=loss.item(), step=step)
        kept.append(loss.detach())
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    if run is not None:
        run.finish()
    return steps / elapsed, [t.item() for t in kept], run.run_id if run else None


def main() -> None:
    assert torch.cuda.is_available(), "no CUDA GPU here"
    store = Path(tempfile.mkdtemp()) / "store"
    torch.zeros(1, device="cuda")
    devices = capture_hardware()["cuda_devices"]
    print("1. provenance cuda_devices:", json.dumps(devices))
    steps = 3000
    training_loop("none", 200, store)  # warm-up
    results = {}
    for mode in ("none", "tensor", "item", "none", "tensor", "item"):
        rate, losses, run_id = training_loop(mode, steps, store)
        results.setdefault(mode, []).append(rate)
        if mode == "tensor" and run_id:
            history = trackrun.metrics(run_id, "loss", store=store)
            assert history["step"] == list(range(steps)), "every step logged"
            worst = max(abs(a - b) for a, b in zip(history["value"], losses, strict=True))
            print(f"   logged tensor values match loss.item(): max abs diff {worst:.2e}")
    best = {m: max(r) for m, r in results.items()}
    print(
        f"2. steps/s (best of 2): no logging {best['none']:.0f}, log(loss tensor) {best['tensor']:.0f} "
        f"({(best['tensor'] / best['none'] - 1) * 100:+.1f}%), log(loss.item()) {best['item']:.0f} "
        f"({(best['item'] / best['none'] - 1) * 100:+.1f}%)"
    )

    source = (
        "import os, torch, trackrun\n"
        "print('CUDA_VISIBLE_DEVICES', os.environ.get('CUDA_VISIBLE_DEVICES'), 'count', torch.cuda.device_count(), torch.cuda.get_device_name(0))\n"
        "t = torch.ones((), device='cuda') * 3\n"
        "trackrun.log(gpu_value=t, step=0)\n"
    )
    run = Run.start(
        store,
        name="detached-gpu",
        status="queued",
        launch={"kind": "detached", "detached": True, "gpu": "0"},
    )
    jobs.write_job(run.paths, source, jobs.freeze_inputs({}, []), [], None, retries=0, gpu="0")
    run.release()
    jobs.submit(run.dir)
    deadline = time.time() + 120
    info = trackrun.get_store(store).summary(run.run_id)
    while info["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.5)
        info = trackrun.get_store(store).summary(run.run_id)
    print("3. detached --gpu 0:", info["status"], "|", (run.dir / "output.log").read_text().strip(),
          "| logged", info["metrics"].get("gpu_value", {}).get("last"))  # fmt: skip
    sys.exit(0 if info["status"] == "finished" else 1)


if __name__ == "__main__":
    main()
