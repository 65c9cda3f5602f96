"""Numbers as the store and scale benchmarks report them: the median of one measure over
the samples of fresh processes, a value with its unit to about 3 significant digits, and the
machine's load average (other work on the machine changes every number).
"""

from __future__ import annotations

import os
import statistics
from typing import Any


def median_of(samples: list[dict[str, Any]], key: str) -> float | None:
    """The median of ``key`` over the samples that have it, or None."""
    values = [s[key] for s in samples if key in s]
    return statistics.median(values) if values else None


def fmt(value: float | None, unit: str) -> str:
    """``value`` and its unit (2 decimals under 10, 1 under 100, none above); n/a for None."""
    if value is None:
        return "n/a"
    return (
        f"{value:.2f} {unit}"
        if value < 10
        else f"{value:,.0f} {unit}"
        if value >= 100
        else f"{value:.1f} {unit}"
    )


def load() -> str:
    """The load average (1, 5, 15 min) as text, as ``uptime`` prints it."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())
