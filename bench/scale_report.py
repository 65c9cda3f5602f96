"""bench_scale.py's report: ``trackrun ls`` by store size, the REST run list and the
server's memory, and the long metric's chart fetch, each row with its growth in runs.
"""

from __future__ import annotations

from typing import Any

import figures
from scale_rest import FILTER, ORDER, WARM_REPEATS, WINDOW


def fmt(value: float | None, unit: str = "ms") -> str:
    """``figures.fmt``, in milliseconds unless told."""
    return figures.fmt(value, unit)


def growth(values: dict[int, float]) -> str:
    """Each step's factor against the factor in runs (x10 time for x10 runs is linear)."""
    sizes = sorted(values)
    parts = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        if values[a] > 0:
            parts.append(f"x{values[b] / values[a]:.1f} for x{b / a:g} runs")
    return "; ".join(parts) or "-"


def report(results: dict[str, Any], cfg: dict[str, Any]) -> None:
    """Print the tables of ``results`` (keys ls, rest, chart), the sizes measured only."""
    sizes = cfg["sizes"]
    ls = results["ls"]
    sizes = [n for n in sizes if n in ls]
    if sizes:
        print(f"\n## `trackrun ls` (median of {cfg['repeats']} fresh processes)\n")
        print("| measure | " + " | ".join(f"{n:,} runs" for n in sizes) + " | growth |")
        print("|---" * (len(sizes) + 2) + "|")
    for key, label, unit, scale in (
        ("ls_first_s", "first (builds the index), wall", "s", 1),
        ("ls_first_cpu_s", "first, CPU (user + sys)", "s", 1),
        ("ls_s", "repeat (50 rows), wall", "s", 1),
        ("ls_cpu_s", "repeat, CPU", "s", 1),
        ("ls_all_s", "`--limit 0` (all rows), wall", "s", 1),
        ("ls_all_cpu_s", "`--limit 0`, CPU", "s", 1),
        ("token_us", "`Store.change_token()`, unchanged store, in-process", "ms", 1e-3),
        ("token_first_ms", "`Store.change_token()`, first look of a process", "ms", 1),
    ):
        if not sizes:
            break
        values = {n: ls[n][key] * scale for n in sizes}
        cells = " | ".join(fmt(values[n], unit) for n in sizes)
        print(f"| {label} | {cells} | {growth(values)} |")
    if sizes:
        print("| load average | " + " | ".join(ls[n]["load"] for n in sizes) + " | |")

    rest = results.get("rest", {})
    if rest:
        rsizes = [n for n in sizes if n in rest]
        print(
            f"\n## REST run list, windows of {WINDOW} rows (first: median over "
            f"{cfg['repeats']} fresh servers; repeat: median of {WARM_REPEATS})\n"
        )
        print("| request | " + " | ".join(f"{n:,} runs" for n in rsizes) + " | growth |")
        print("|---" * (len(rsizes) + 2) + "|")
        rows = [
            ("first_window_first_ms", "first `GET runs` of a fresh server (offset 0)"),
            ("first_window_first_cpu_ms", "  its server CPU time (10 ms ticks)"),
            ("first_window_warm_ms", "offset 0, repeat"),
            ("window_mid_first_ms", "offset N/2, first"),
            ("window_mid_warm_ms", "offset N/2, repeat"),
            ("window_end_first_ms", "offset N-100, first"),
            ("window_end_warm_ms", "offset N-100, repeat"),
            ("window_sorted_first_ms", f"`order_by={ORDER}`, offset 0, first"),
            ("window_sorted_warm_ms", f"`order_by={ORDER}`, offset 0, repeat"),
            ("window_sorted_mid_first_ms", f"`order_by={ORDER}`, offset N/2, first"),
            ("window_filtered_first_ms", f"`filter={FILTER}`, first"),
            ("window_filtered_warm_ms", f"`filter={FILTER}`, repeat"),
            ("poll_304_ms", "poll with the ETag, unchanged store (304)"),
            ("changes_first_ms", "`GET changes?since=TOKEN&timeout=0`, unchanged, first"),
            ("changes_warm_ms", "`GET changes`, unchanged, repeat"),
        ]
        for key, label in rows:
            values = {n: rest[n][key] for n in rsizes}
            cells = " | ".join(fmt(values[n]) for n in rsizes)
            print(f"| {label} | {cells} | {growth(values)} |")
        mem = [
            ("rss_start_kib", "server VmRSS after start (before any trackrun request)"),
            ("rss_kib", "server VmRSS after listing"),
            ("hwm_kib", "server VmHWM (peak) after listing"),
        ]
        for key, label in mem:
            values = {n: rest[n][key] / 1024 for n in rsizes}
            cells = " | ".join(f"{values[n]:,.0f} MiB" for n in rsizes)
            print(f"| {label} | {cells} | |")
        print("| load average | " + " | ".join(rest[n]["load"] for n in rsizes) + " | |")
        notes = []
        for n in rsizes:
            r = rest[n]
            notes.append(
                f"{n:,} runs: rows {r['first_window_rows']:.0f}/{r['first_window_total']:.0f}, "
                f"filtered total {r['window_filtered_total']:.0f}, "
                f"window {r['first_window_bytes'] / 1024:.0f} KiB, "
                f"304 status {r['poll_304_status']:.0f}, "
                f"changes unchanged and same token: {r['changes_same_token']}"
            )
        print("\n" + "\n".join(f"- {n}" for n in notes))

    chart = results.get("chart")
    if chart:
        points = cfg["chart_points"]
        print(
            f"\n## {points:,}-point metric, downsampled to 2,000 points through the server "
            f"(median over {cfg['repeats']} fresh servers)\n"
        )
        print("| request | first | server CPU, first | repeat | sent |\n|---|---|---|---|---|")
        for name, route in (("metrics", "metrics"), ("chart", "chart (Vega-Lite spec)")):
            print(
                f"| `GET runs/{{id}}/{route}?keys=loss&max_points=2000` "
                f"| {fmt(chart[f'{name}_first_ms'])} | {fmt(chart[f'{name}_first_cpu_ms'])} "
                f"| {fmt(chart[f'{name}_warm_ms'])} "
                f"| {chart[f'{name}_bytes'] / 1024:.0f} KiB |"
            )
        print(
            f"\nPoints sent: {chart['points_sent']:.0f}. First `GET status` of each server "
            f"(opens the index): {fmt(chart['status_first_ms'])}. Ingest of the "
            f"{points:,} points by the first `trackrun ls`: {cfg['chart_ingest_s']:.1f} s. "
            f"Load: {chart['load']}."
        )
        status = "PASS" if chart["metrics_first_ms"] < 300 else "FAIL"
        print(f"{status}: metric fetch, first, < 300 ms: {chart['metrics_first_ms']:.0f} ms")
