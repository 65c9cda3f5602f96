"""Story 15: the panel follows the change feed: a run logging in another process updates its
row in place, with no refetch of the run list."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import Lab, open_page
from fabricate import FakeRun, write_runs
from pages import PanelTablePage
from playwright.sync_api import expect

#: A run in its own process: logs loss = step for 30 steps, 4 per second, then finishes.
LOGGER = """
import time, trackrun
with trackrun.start_run(name="feed-live", params={"lr": 0.5}):
    for step in range(30):
        trackrun.log(loss=float(step), step=step)
        time.sleep(0.25)
"""


def test_a_logging_run_updates_its_row_without_refetching_the_list(
    lab: Lab, playwright_browser
) -> None:
    write_runs(
        lab.store,
        [FakeRun(name=f"feed-old-{i}", metrics={"loss": [1.0, 0.5]}) for i in range(3)],
    )
    context, ui = open_page(playwright_browser, lab)
    panel = PanelTablePage(ui)
    process = None
    try:
        ui.open_sidebar()
        expect(ui.row("feed-old-2")).to_be_visible()
        before = int((ui.footer().text_content() or "").split(" run")[0].replace(",", ""))
        lists = panel.list_requests()
        feeds = panel.feed_requests()
        env = {**os.environ, "TRACKRUN_HOME": str(lab.store), "TRACKRUN_FLUSH_INTERVAL": "0.2"}
        process = subprocess.Popen([sys.executable, "-c", LOGGER], env=env)
        # The new run appears, running, and its loss cell follows its logging.
        ui.expect_row_status("feed-live", "running", timeout=60_000)
        cell = panel.metric_cell("feed-live", "loss")
        expect(cell).not_to_have_text("", timeout=30_000)
        seen = {cell.text_content()}
        expect(cell).not_to_have_text(next(iter(seen)) or "", timeout=30_000)
        assert process.wait(timeout=120) == 0
        ui.expect_row_status("feed-live", "finished", timeout=60_000)
        expect(panel.metric_cell("feed-live", "loss")).to_have_text("29")
        # Every update came through the change feed; the list was never fetched again.
        assert feeds, "the panel never polled the change feed"
        assert lists == [], f"the run list was refetched: {lists}"
        expect(ui.footer()).to_contain_text(f"{before + 1:,} runs")
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        context.close()
