"""Story 21 (issue 13): a sweep in the panel. Its 18 runs are ONE line of the runs sidebar
showing its progress and best value; the keyboard opens it to its runs and closes it again;
Enter (or the palette) compares the whole sweep: params against the metric, seed groups
with error bars, and whether the best setting really beats the runner-up; its context menu
kills its queued run and filters the list to it."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from conftest import Lab, make_project, open_page
from fabricate import FakeRun, write_runs, write_sweep
from pages import SweepsPage
from playwright.sync_api import expect
from scipy import stats

GRID = {"lr": [0.001, 0.003, 0.01], "hidden": [64, 128], "seed": [0, 1, 2]}
#: Final val_acc of each (lr, hidden) by seed: (0.003, 128) is best, (0.01, 128) runner-up.
FINALS = {
    (0.001, 64): [0.70, 0.72, 0.69],
    (0.001, 128): [0.73, 0.71, 0.74],
    (0.003, 64): [0.80, 0.78, 0.79],
    (0.003, 128): [0.86, 0.84, 0.87],
    (0.01, 64): [0.77, 0.79, 0.76],
    (0.01, 128): [0.80, 0.81, 0.79],
}
QUEUED = {"lr": 0.001, "hidden": 64, "seed": 0}
FAILED = {"lr": 0.001, "hidden": 64, "seed": 1}


def final(point: dict[str, Any]) -> float | None:
    if point == QUEUED:
        return None
    if point == FAILED:
        return 0.99  # the highest value logged, but by a run that failed: never "best"
    return FINALS[(point["lr"], point["hidden"])][point["seed"]]


def status(point: dict[str, Any]) -> str:
    return "queued" if point == QUEUED else "failed" if point == FAILED else "finished"


def expected_significance() -> str:
    """The line the view must show, from scipy on the same numbers."""
    best, runner = FINALS[(0.003, 128)], FINALS[(0.01, 128)]
    test = stats.ttest_ind(best, runner, equal_var=False)
    low, high = test.confidence_interval(0.95)
    d = min(12, max(0, 1 - math.floor(math.log10((high - low) / 2))))
    p = f"p={float(f'{test.pvalue:.2g}'):g}"
    difference = np.mean(best) - np.mean(runner)
    return (
        f"lr=0.003, hidden=128 beats lr=0.01, hidden=128 by {difference:.{d}f} "
        f"(95% CI {low:.{d}f} to {high:.{d}f}, Welch {p}, n=3 vs 3)"
    )


def test_a_sweep_is_one_line_compared_and_killed(
    tmp_path: Path, playwright_browser: Any, screenshots: Path
) -> None:
    root = make_project(tmp_path / "project")
    store = root / ".trackrun"
    now = time.time()
    write_runs(
        store,
        [
            FakeRun(name="alone-1", params={"lr": 0.5}, metrics={"val_acc": [0.3]}, started_at=now),
            FakeRun(name="alone-2", params={"lr": 0.2}, metrics={"val_acc": [0.4]}),
        ],
    )
    sweep_id, run_ids = write_sweep(store, "grid", GRID, final, status=status)
    queued_id = run_ids[0]
    server = Lab.start(root)
    try:
        context, ui = open_page(playwright_browser, server)
        try:
            sweeps = SweepsPage(ui)
            ui.open_sidebar()
            # One line for the 18 runs, with its progress and its best value so far.
            expect(sweeps.lines()).to_have_count(1)
            expect(sweeps.counts("grid")).to_have_text("16/18 done · 1 queued · 1 failed")
            expect(sweeps.best("grid")).to_have_text("best val_acc 0.87")
            expect(ui.rows()).to_have_count(2)  # alone-1 and alone-2 only
            expect(ui.row("alone-1")).to_be_visible()

            # Right opens it: its runs are rows like any other; Left goes back and closes.
            sweeps.focus("grid")
            sweeps.press("ArrowRight")
            expect(sweeps.line("grid")).to_have_attribute("aria-expanded", "true")
            expect(ui.rows()).to_have_count(20)
            sweeps.press("ArrowDown")
            newest = ui.row("grid-18")  # the newest started first; the queued one last
            expect(newest).to_have_attribute("aria-selected", "true")
            ui.screenshot(screenshots / "sidebar-sweep.png", ui.panel())
            sweeps.press("ArrowLeft")
            expect(sweeps.line("grid")).to_have_attribute("aria-selected", "true")
            sweeps.press("ArrowLeft")
            expect(sweeps.line("grid")).to_have_attribute("aria-expanded", "false")
            expect(ui.rows()).to_have_count(2)

            # The palette compares a sweep chosen by name (the cursor on a run: it asks).
            ui.select("alone-1")
            sweeps.compare_from_palette("grid")
            view = sweeps.view()
            expect(sweeps.significance(view)).to_have_text(expected_significance())
            ui.command("application:close")
            expect(ui.page.locator(".trackrun-SweepView")).to_have_count(0)

            # Enter on the sweep's line compares it: params against the metric, the seed
            # groups with error bars, and the significance of best against runner-up.
            sweeps.focus("grid")
            sweeps.press("Enter")
            view = sweeps.view()
            expect(sweeps.significance(view)).to_have_text(expected_significance())
            expect(sweeps.params_chart(view)).to_be_visible(timeout=30_000)
            expect(sweeps.groups_chart(view)).to_be_visible(timeout=30_000)
            expect(sweeps.group_rows(view)).to_have_count(6)
            expect(sweeps.group_rows(view).first).to_contain_text("lr=0.001, hidden=64")
            ui.screenshot(screenshots / "compare-sweep.png", view)

            # Its context menu; Kill Sweep names what it stops, then cancels the queued run.
            items = sweeps.menu_items("grid")
            assert [i for i in items if "Sweep" in i] == [
                "Compare Sweep",
                "Filter to Sweep",
                "Kill Sweep…",
            ]
            assert not any("Run" in i for i in items), items  # no run's commands
            sweeps.menu("grid", "Kill Sweep")
            expect(ui.dialog()).to_contain_text(
                "1 queued run will be cancelled and 0 running runs killed"
            )
            ui.dialog_button("Kill Sweep").click()
            expect(sweeps.counts("grid")).to_have_text("16/18 done · 2 failed", timeout=30_000)
            status_of = {r["run_id"]: r["status"] for r in server.runs(f"sweep = {sweep_id}")}
            assert status_of[queued_id] == "killed"
            assert list(status_of.values()).count("finished") == 16

            # Filter to Sweep: the list shows the sweep, opened to its runs.
            sweeps.menu("grid", "Filter to Sweep")
            expect(ui.filter_box()).to_have_value("sweep:grid")
            expect(ui.rows()).to_have_count(18)
            expect(ui.row("alone-1")).to_have_count(0)
            assert not ui.errors, ui.errors
        finally:
            context.close()
    finally:
        server.stop()
