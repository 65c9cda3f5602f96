"""bench_logging.py's report: the Markdown tables (one column per tool, ratios to trackrun),
the targets trackrun is held to, and the machine and versions for the JSON report.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from workload import PEERS, TOOLS, version_of

#: (key, label, unit) of the main table rows, in order.
MAIN_ROWS: tuple[tuple[str, str, str], ...] = (
    ("log_median_us", "log() median", "µs"),
    ("log_p99_us", "log() p99", "µs"),
    ("total_s", "total 20k steps incl. flush", "s"),
    ("create_runs_s", "create 200 runs", "s"),
    ("query_cold_ms", "filter query cold", "ms"),
    ("query_warm_ms", "filter query warm", "ms"),
    ("history_cold_ms", "history fetch cold", "ms"),
    ("history_warm_ms", "history fetch warm", "ms"),
)

#: Supplementary rows: breakdowns that explain the main ones.
EXTRA_ROWS: tuple[tuple[str, str, str], ...] = (
    ("start_run_s", "start run (not in total)", "s"),
    ("query_first_ms", "filter query, first after logging (incl. ingest)", "ms"),
    ("query_cold_with_imports_ms", "filter query cold, incl. lazy import of duckdb", "ms"),
    ("query_recomputed_ms", "filter query warm, recomputed (index open)", "ms"),
    ("history_first_ms", "history fetch, first after logging (incl. ingest)", "ms"),
    (
        "history_cold_with_imports_ms",
        "history fetch cold, incl. lazy import of duckdb, numpy",
        "ms",
    ),
    ("history_recomputed_ms", "history fetch warm, recomputed (index open)", "ms"),
    ("import_duckdb_ms", "one-time `import duckdb` (not in cold)", "ms"),
    ("import_numpy_ms", "one-time `import numpy` (not in cold)", "ms"),
)

EXTRAPOLATED = {"total_s": "total_extrapolated", "create_runs_s": "create_runs_extrapolated"}


def fmt_value(value: float, unit: str) -> str:
    """A number with about 3 significant digits and its unit."""
    if value < 1:
        text = f"{value:.3f}"
    elif value < 10:
        text = f"{value:.2f}"
    elif value < 100:
        text = f"{value:.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}"


def fmt_ratio(ratio: float) -> str:
    """A peer/trackrun ratio such as ``137x`` or ``0.4x``."""
    if ratio >= 10:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def cell(results: dict[str, dict[str, Any]], tool: str, key: str, unit: str) -> str:
    """One table cell: the value, ``~``/``*`` if extrapolated, and the ratio to trackrun."""
    data = results.get(tool, {})
    if "skipped" in data:
        return "skipped"
    value = data.get(key)
    if value is None:
        return "n/a"
    text = fmt_value(value, unit)
    if data.get(EXTRAPOLATED.get(key, ""), False):
        text = f"~{text}*"
    base = results.get("trackrun", {}).get(key)
    if tool != "trackrun" and base:
        text += f" ({fmt_ratio(value / base)})"
    return text


def render_table(
    results: dict[str, dict[str, Any]], rows: tuple[tuple[str, str, str], ...], cfg: dict[str, Any]
) -> str:
    """A Markdown table: one row per measure, one column per tool."""
    lines = ["| measure | " + " | ".join(TOOLS) + " |", "|---" * (len(TOOLS) + 1) + "|"]
    for key, label, unit in rows:
        label = label.replace("20k", f"{cfg['steps'] // 1000}k" if cfg["steps"] >= 1000 else "N")
        label = label.replace("200 runs", f"{cfg['runs']} runs")
        cells = [cell(results, tool, key, unit) for tool in TOOLS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_targets(results: dict[str, dict[str, Any]]) -> list[tuple[bool | None, str]]:
    """The trackrun targets as (passed, description); passed is None when not measured."""
    tr = results.get("trackrun", {})
    checks: list[tuple[bool | None, str]] = []

    def add(value: float | None, limit: float, unit: str, what: str) -> None:
        if value is None:
            checks.append((None, f"{what} < {limit:g} {unit}: not measured"))
        else:
            checks.append((value < limit, f"{what} < {limit:g} {unit}: {value:.3g} {unit}"))

    add(tr.get("log_median_us"), 3.0, "µs", "trackrun log() median")
    total = tr.get("total_s")
    peers = {p: results[p]["total_s"] for p in PEERS if results.get(p, {}).get("total_s")}
    if total is None or not peers:
        checks.append((None, "trackrun total >= 10x faster than every peer: not measured"))
    else:
        ratios = {p: t / total for p, t in peers.items()}
        text = ", ".join(f"{p} {r:.1f}x" for p, r in ratios.items())
        checks.append(
            (min(ratios.values()) >= 10, f"trackrun total >= 10x faster than every peer: {text}")
        )
    add(
        tr.get("query_cold_ms"),
        50,
        "ms",
        "trackrun filter query cold (fresh process, after imports)",
    )
    add(tr.get("query_warm_ms"), 5, "ms", "trackrun filter query warm")
    add(
        tr.get("history_cold_ms"),
        50,
        "ms",
        "trackrun history fetch cold (fresh process, after imports)",
    )
    add(tr.get("history_warm_ms"), 5, "ms", "trackrun history fetch warm")
    return checks


def environment() -> dict[str, Any]:
    """Machine and package versions, for the JSON report."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "versions": {
            d: version_of(d)
            for d in ("trackrun", "duckdb", "pyarrow", "mlflow", "wandb", "tensorboard", "torch")
        },
    }
