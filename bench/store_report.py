"""bench_store.py's report: the table of every measure (this checkout beside a baseline), the
ingest table, and the targets.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from figures import fmt

ROWS: tuple[tuple[str, str, str], ...] = (
    ("import_duckdb_ms", "one-time `import duckdb` (fresh process)", "ms"),
    ("import_numpy_ms", "one-time `import numpy` (fresh process)", "ms"),
    ("import_pyarrow_ms", "one-time `import pyarrow` (after numpy)", "ms"),
    ("query_cold_ms", "filter query, 200 runs: cold (after the imports above)", "ms"),
    ("query_cold_incl_imports_ms", "filter query: cold incl. lazy imports", "ms"),
    ("query_warm_ms", "filter query: warm", "ms"),
    ("query_recomputed_ms", "filter query: warm, recomputed (index open)", "ms"),
    ("history_cold_ms", "history fetch, 20k points: cold (after the imports above)", "ms"),
    ("history_cold_incl_imports_ms", "history fetch: cold incl. lazy imports", "ms"),
    ("history_warm_ms", "history fetch: warm", "ms"),
    ("history_recomputed_ms", "history fetch: warm, recomputed (index open)", "ms"),
    ("ingest_first_history_ms", "first query after logging (ingest 20k lines)", "ms"),
    ("ls_first_s", "`trackrun ls`, N runs, first (builds the index)", "s"),
    ("ls_s", "`trackrun ls`, N runs", "s"),
    ("ls_all_s", "`trackrun ls --limit 0`, N runs", "s"),
    ("many_runs_cold_ms", "Store.runs(), N runs: cold (after imports)", "ms"),
    ("many_runs_warm_ms", "Store.runs(), N runs: warm", "ms"),
    ("many_runs_recomputed_ms", "Store.runs(), N runs: warm, recomputed", "ms"),
)


def print_report(results: dict[str, dict[str, Any]], cfg: dict[str, Any]) -> None:
    """The measures of ``results["current"]`` (and ``results["baseline"]``), the ingest
    table of ``results["ingest"]``, and the target checks."""
    columns = ["current"] + (["baseline"] if "baseline" in results else [])
    print(
        f"\n## trackrun store: N = {cfg['runs']:,} runs, {cfg['steps']:,} steps, "
        f"median of {cfg['repeats']} fresh processes (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs)\n"
    )
    print("| measure | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    many_label = f"{cfg['runs']:,} runs"
    for key, label, unit in ROWS:
        cells = [fmt(results[c].get(key), unit) for c in columns]
        print(f"| {label.replace('N runs', many_label)} | " + " | ".join(cells) + " |")
    current = results["current"]
    print_ingest(results["ingest"], cfg)
    print(
        f"\nWrote {cfg['runs']:,} run directories in {cfg['write_runs_s']:.1f} s. "
        f"Rows: filter {current['query_rows']}, history {current['history_rows']}, "
        f"ls {current['many_runs_rows']}. pyarrow imported by a query: "
        f"{current['query_pyarrow_imported'] or current['history_pyarrow_imported']}."
    )
    checks = [
        ("filter query cold < 50 ms", current.get("query_cold_ms"), 50.0),
        ("filter query warm < 5 ms", current.get("query_warm_ms"), 5.0),
        ("history fetch cold < 50 ms", current.get("history_cold_ms"), 50.0),
        ("history fetch warm < 5 ms", current.get("history_warm_ms"), 5.0),
        (f"trackrun ls on {cfg['runs']:,} runs < 1 s", current.get("ls_s"), 1.0),
    ]
    print()
    for text, value, limit in checks:
        status = "SKIP" if value is None else "PASS" if value < limit else "FAIL"
        print(f"{status}: {text}: {value:.3g}" if value is not None else f"{status}: {text}")


def print_ingest(result: dict[str, Any], cfg: dict[str, Any]) -> None:
    """The ingest, growth and poll measures of ``measure_ingest``."""
    if "token_unchanged_us" not in result:
        result = {**result, "token_unchanged_us": 0, "token_p90_us": 0, "token_first_ms": None}
    print(
        f"\n## ingest: {cfg['steps']:,} steps x 4 metrics, median of {cfg['repeats']} fresh "
        f"processes\n\n| measure | value |\n|---|---|"
    )
    rows = (
        ("first query after logging (new index, ingest)", fmt(result["first_query_ms"], "ms")),
        (
            "DuckDB read_json of the same events.jsonl, same process",
            fmt(result["read_json_ms"], "ms"),
        ),
        ("ratio (target <= 1.5)", f"{result['ratio']:.2f}"),
        (
            "steady state, appended chunks after the first (target >= 2M)",
            f"{result['steady_points_per_s'] / 1e6:.2f} M points/s",
        ),
        (
            "first appended chunk (one-time costs: pyarrow's import)",
            f"{result['steady_first_points_per_s'] / 1e6:.2f} M points/s",
        ),
        *(
            (
                f"first query, {n} run{'s' if n > 1 else ''} x {cfg['steps']:,} x 4",
                fmt(result.get(f"scale_{n}_ms"), "ms"),
            )
            for n in cfg["scale"]
        ),
        (
            f"change_token, unchanged store of {cfg['runs']:,} runs (target < 2 ms)",
            f"{result['token_unchanged_us']:.0f} us (p90 {result['token_p90_us']:.0f} us)",
        ),
        (f"change_token, first look at {cfg['runs']:,} runs", fmt(result["token_first_ms"], "ms")),
    )
    for label, value in rows:
        print(f"| {label} | {value} |")
    start, end = result["load_start"], result["load_end"]
    print(
        f"\nLoad average (1/5/15 min) at the start: {start[0]:.2f} {start[1]:.2f} {start[2]:.2f}; "
        f"after the growth rows: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}"
    )
