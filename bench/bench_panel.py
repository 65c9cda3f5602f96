"""Benchmark of the runs sidebar in Chromium: first render with 10,000 runs, and main-thread
long tasks while 20 runs log at 10 Hz.

Starts a real ``jupyter lab`` (the UI tests' ``Lab``) on a fabricated store of 10,000
finished runs and drives Debian's Chromium with Playwright. Prints, never fails:

- sidebar open to first row visible (fresh page each time; median of ``--repeat``), with the
  ``GET runs`` requests it made and the bytes they carried;
- page reload to first row visible;
- while 20 runs in their own processes log a metric at 10 Hz: the long tasks
  (PerformanceObserver ``longtask``, > 50 ms on the main thread) and their share of the
  window, the change-feed and list requests made.

``--sweep N`` measures a sweep instead: a store of one sweep of N finished runs, and in a
fresh page each time (median of ``--repeat``) the time from opening the runs sidebar to the
sweep's line drawn, from Right on it to its first run's row drawn, and from Enter on it
to the compare-sweep view's charts drawn.

``JUPYTER_PATH=$PWD/.jp python bench/bench_panel.py`` measures the build in ./labextension
(see the UI tests' README); without it, the installed one.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "ui-tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, Lab, make_project, open_page  # noqa: E402
from fabricate import many_runs, write_runs, write_sweep  # noqa: E402
from pages import SweepsPage  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

#: One live run: logs ``loss`` at ``hz`` for ``seconds``, then finishes.
LOGGER = """
import sys, time, trackrun
name, hz, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
with trackrun.start_run(name=name, params={"lr": 0.1}):
    t0 = time.time()
    step = 0
    while time.time() - t0 < seconds:
        trackrun.log(loss=1.0 / (step + 1), step=step)
        step += 1
        time.sleep(1.0 / hz)
"""

OBSERVE_LONG_TASKS = """
() => {
  const now = performance.now();
  window.__longTasks = [];
  window.__longTasksBefore = [];
  // buffered: the long tasks since the page loaded come too (proof the observer works);
  // only those after now count for the window.
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      (e.startTime >= now ? window.__longTasks : window.__longTasksBefore)
        .push({start: e.startTime, duration: e.duration});
    }
  }).observe({type: 'longtask', buffered: true});
  return now;
}
"""

#: Installed before each page load: notes when the first table row enters the DOM, in the
#: page's clock (performance.now(), 0 at navigation start).
FIRST_ROW_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector('.trackrun-RunsTable-row')) {
    window.__firstRow = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, childList: true});
"""
#: The page's own account: navigation start to first row, and the first list request's
#: start to first row (what the panel adds once JupyterLab has loaded).
FIRST_ROW_TIMES = """
() => {
  const lists = performance.getEntriesByType('resource')
    .filter(e => /\\/trackrun\\/api\\/runs(\\?|$)/.test(e.name));
  const first = lists.length ? lists[0].startTime : NaN;
  return {row: window.__firstRow, list: first};
}
"""
LIST = re.compile(r"/trackrun/api/runs(\?|$)")
FEED = re.compile(r"/trackrun/api/changes(\?|$)")


def first_render(browser: Any, server: Lab, count: int) -> dict[str, float]:
    """Open a fresh page, then time the sidebar's opening to its first row."""
    context, page = open_page(browser, server)
    sizes: list[int] = []

    def on_response(response: Any) -> None:
        if LIST.search(response.url) and response.request.method == "GET":
            try:
                sizes.append(len(response.body()))
            except Exception:  # noqa: BLE001 - a response the page dropped
                sizes.append(0)

    page.page.on("response", on_response)
    limits: list[str] = []
    page.page.on(
        "request",
        lambda r: (
            limits.append(re.sub(r".*[?&](limit=\d+).*", r"\1", r.url))
            if LIST.search(r.url)
            else None
        ),
    )
    try:
        started = time.perf_counter()
        page.open_sidebar()
        expect(page.rows().first).to_be_visible(timeout=120_000)
        opened = time.perf_counter() - started
        expect(page.footer()).to_contain_text(f"{count:,} runs", timeout=60_000)
        page.page.add_init_script(FIRST_ROW_PROBE)
        reload_started = time.perf_counter()
        page.page.reload()
        page.wait_until_restored()
        page.open_sidebar()
        expect(page.rows().first).to_be_visible(timeout=120_000)
        reloaded = time.perf_counter() - reload_started
        page.page.wait_for_function("() => window.__firstRow !== undefined")
        times = page.page.evaluate(FIRST_ROW_TIMES)
        return {
            "open": opened,
            "reload": reloaded,
            "nav_to_row": times["row"] / 1000,
            "list_to_row": (times["row"] - times["list"]) / 1000,
            "requests": len(sizes),
            "limits": ", ".join(limits),
            "kb": sum(sizes) / 1024,
        }
    finally:
        context.close()


def live_load(
    browser: Any, server: Lab, runs: int, hz: float, seconds: float, views: bool = False
) -> dict[str, Any]:
    """Long tasks on the page while ``runs`` processes log at ``hz`` for ``seconds``; with
    ``views``, a run view of one live run and a compare view of three are open too."""
    context, page = open_page(browser, server)
    lists: list[str] = []
    feeds: list[str] = []
    page.page.on(
        "request",
        lambda r: (lists if LIST.search(r.url) else feeds if FEED.search(r.url) else []).append(
            r.url
        ),
    )
    env = {**os.environ, "TRACKRUN_HOME": str(server.store), "TRACKRUN_FLUSH_INTERVAL": "0.5"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        page.open_sidebar()
        expect(page.rows().first).to_be_visible(timeout=120_000)
        for i in range(runs):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", LOGGER, f"live-{i:02d}", str(hz), str(seconds)],
                    env=env,
                )
            )
        # Measure once they all run (each appears in the table as running).
        expect(page.page.locator('.trackrun-RunsTable-row[data-status="running"]')).to_have_count(
            runs, timeout=120_000
        )
        if views:
            page.open_run("live-00")
            page.select("live-01", "live-02", "live-03")
            page.compare_selected()
        lists.clear()
        feeds.clear()
        start = page.page.evaluate(OBSERVE_LONG_TASKS)
        window = min(10.0, seconds / 2)
        time.sleep(window)  # a bench samples a fixed window; tests never sleep
        tasks = page.page.evaluate("() => window.__longTasks")
        before = page.page.evaluate("() => window.__longTasksBefore")
        end = page.page.evaluate("() => performance.now()")
        for process in processes:
            process.wait(timeout=seconds + 120)
        busy = sum(t["duration"] for t in tasks)
        return {
            "window_s": (end - start) / 1000,
            "long_tasks": len(tasks),
            "long_ms": busy,
            "share": busy / (end - start),
            "max_ms": max((t["duration"] for t in tasks), default=0.0),
            "before": len(before),
            "before_ms": sum(t["duration"] for t in before),
            "feeds": len(feeds),
            "lists": len(lists),
        }
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        context.close()


def sweep_store(root: Path, runs: int) -> str:
    """One sweep of ``runs`` finished runs (lr values × 5 seeds when ``runs`` allows)."""
    seeds = 5 if runs % 5 == 0 else 1
    lrs = [round(1e-4 * 10 ** (3 * i / max(1, runs // seeds - 1)), 8) for i in range(runs // seeds)]
    sweep_id, _ = write_sweep(
        root / ".trackrun",
        "bench-sweep",
        {"lr": lrs, "seed": list(range(seeds))},
        lambda p: 0.9 - abs(p["lr"] - 3e-3) * 20 + 0.01 * p["seed"],
    )
    return sweep_id


def sweep_render(browser: Any, server: Lab, runs: int) -> dict[str, float]:
    """Open a fresh page; time the sweep's line, its first run's row, and its compare view."""
    context, page = open_page(browser, server)
    sweeps = SweepsPage(page)
    try:
        started = time.perf_counter()
        page.open_sidebar()
        expect(sweeps.line("bench-sweep")).to_be_visible(timeout=120_000)
        line = time.perf_counter() - started
        expect(sweeps.counts("bench-sweep")).to_contain_text(f"{runs}/{runs} done")
        sweeps.focus("bench-sweep")
        started = time.perf_counter()
        sweeps.press("ArrowRight")
        expect(page.rows().first).to_be_visible(timeout=120_000)
        expanded = time.perf_counter() - started
        sweeps.focus("bench-sweep")
        started = time.perf_counter()
        sweeps.press("Enter")
        view = sweeps.view()
        expect(sweeps.params_chart(view)).to_be_visible(timeout=120_000)
        expect(sweeps.groups_chart(view)).to_be_visible(timeout=120_000)
        compared = time.perf_counter() - started
        return {"line": line, "expand": expanded, "compare": compared}
    finally:
        context.close()


def sweep_main(runs: int, repeat: int) -> None:
    """``--sweep N``: the sidebar and the compare view of one sweep of N runs."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "project")
        made = time.perf_counter()
        sweep_store(root, runs)
        made = time.perf_counter() - made
        server = Lab.start(root)
        try:
            server.api("GET", "/trackrun/api/runs?limit=1")  # the first ingest, timed apart
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    times = [sweep_render(browser, server, runs) for _ in range(repeat)]
                finally:
                    browser.close()
        finally:
            server.stop()
    load = os.getloadavg()[0]
    print(
        f"\none sweep of {runs:,} finished runs (written in {made:.1f} s; median of {repeat} "
        f"fresh pages, load {load:.1f}):"
    )
    for key, label in (
        ("line", "sidebar open to the sweep's line:"),
        ("expand", "Right to its first run's row:"),
        ("compare", "Enter to the compare view's charts:"),
    ):
        each = ", ".join(f"{t[key]:.2f}" for t in times)
        print(f"  {label:38} {statistics.median(t[key] for t in times):6.2f} s  (each: {each})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--live", type=int, default=20, help="runs logging during the load")
    parser.add_argument("--hz", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--views", action="store_true", help="also a run view and a compare view of live runs"
    )
    parser.add_argument(
        "--sweep",
        type=int,
        metavar="N",
        help="instead: one sweep of N finished runs, its line, runs and compare view",
    )
    args = parser.parse_args()
    if args.sweep:
        sweep_main(args.sweep, args.repeat)
        return

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "project")
        write_runs(root / ".trackrun", many_runs(args.runs))
        server = Lab.start(root)
        try:
            server.api("GET", "/trackrun/api/runs?limit=1")  # the first ingest, timed apart
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    renders = [first_render(browser, server, args.runs) for _ in range(args.repeat)]
                    live = live_load(browser, server, args.live, args.hz, args.seconds, args.views)
                finally:
                    browser.close()
        finally:
            server.stop()
    load = os.getloadavg()[0]
    opened = statistics.median(r["open"] for r in renders)
    reloaded = statistics.median(r["reload"] for r in renders)
    print(
        f"\nsidebar with {args.runs:,} runs (median of {args.repeat} fresh pages, load {load:.1f}):"
    )
    print(
        f"  sidebar open to first row:   {opened:6.2f} s  (each: "
        + ", ".join(f"{r['open']:.2f}" for r in renders)
        + ")"
    )
    print(
        f"  page reload to first row:    {reloaded:6.2f} s  (in the page: navigation start to "
        f"first row {statistics.median(r['nav_to_row'] for r in renders):.2f} s; first list "
        f"request to first row {statistics.median(r['list_to_row'] for r in renders):.2f} s)"
    )
    print(
        f"  GET runs on a reload:        {renders[0]['requests']} request(s), "
        f"{renders[0]['kb']:.0f} KB ({renders[0]['limits']})"
    )
    print(
        f"  long tasks from page load to the 20 runs running: {live['before']} "
        f"({live['before_ms']:.0f} ms)"
    )
    shown = " (a run view and a compare view of them open)" if args.views else ""
    print(f"while {args.live} runs log at {args.hz:g} Hz{shown} ({live['window_s']:.1f} s window):")
    print(
        f"  long tasks:                  {live['long_tasks']} ({live['long_ms']:.0f} ms, "
        f"{100 * live['share']:.1f} % of the window, longest {live['max_ms']:.0f} ms)"
    )
    print(
        f"  requests:                    {live['feeds']} change-feed polls, "
        f"{live['lists']} list fetches"
    )


if __name__ == "__main__":
    main()
