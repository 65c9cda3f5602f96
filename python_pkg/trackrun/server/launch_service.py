"""The server's share of launching: which GPUs it may hand out and how many runs at once
(the queue drainer itself, driven by the server's tick, is ``trackrun.jobs.Drainer``)."""

from __future__ import annotations

import os
import subprocess


def visible_gpus() -> list[str]:
    """GPU ids this server may hand out: ``CUDA_VISIBLE_DEVICES`` if set, else those
    ``nvidia-smi -L`` lists (none without an NVIDIA driver)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def default_max_parallel(gpus: list[str]) -> int:
    """One run per visible GPU, else half the CPU cores (at least one)."""
    return len(gpus) if gpus else max(1, (os.cpu_count() or 2) // 2)
