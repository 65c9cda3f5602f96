"""Story 17: "Open as table" shows the runs table full-width in the main area, grouped by a
param, by tags or by sweep."""

from __future__ import annotations

from conftest import Lab, open_page
from fabricate import FakeRun, write_runs
from pages import PanelTablePage
from playwright.sync_api import expect


def test_table_view_groups_by_param_and_sweep(lab: Lab, playwright_browser, screenshots) -> None:
    t0 = 1_700_000_000.0
    write_runs(
        lab.store,
        [
            FakeRun(
                name=f"tv-{opt}-{i}",
                params={"opt": opt, "lr": 10.0**-i},
                metrics={"loss": [1.0, 0.5 / (i + 1)]},
                tags=["sweep:grid", "sweep:sw1"] if opt == "adam" else [],
                started_at=t0 + 10 * i + (5 if opt == "sgd" else 0),
            )
            for opt in ("adam", "sgd")
            for i in range(3)
        ],
    )
    context, ui = open_page(playwright_browser, lab)
    panel = PanelTablePage(ui)
    try:
        ui.open_sidebar()
        ui.filter("name ~ 'tv-'")
        expect(ui.rows()).to_have_count(6)
        view = panel.open_table()
        expect(panel.table_rows(view)).to_have_count(6)

        panel.group_by(view, "params.opt")
        expect(panel.group_headers(view)).to_have_count(2)
        # Newest first within each group, as the table is ordered (by start time).
        assert panel.group_lines(view) == [
            "# sgd", "tv-sgd-2", "tv-sgd-1", "tv-sgd-0",
            "# adam", "tv-adam-2", "tv-adam-1", "tv-adam-0",
        ]  # fmt: skip
        ui.page.mouse.move(0, 0)
        ui.screenshot(screenshots / "table-view-grouped.png", view)

        panel.group_by(view, "sweep")
        expect(panel.group_headers(view)).to_have_count(2)
        lines = panel.group_lines(view)
        assert lines[0] == "# grid · sw1" and lines[4] == "# (none)", lines
        assert {lines[1], lines[2], lines[3]} == {"tv-adam-0", "tv-adam-1", "tv-adam-2"}

        panel.set_theme("JupyterLab Dark")
        ui.screenshot(screenshots / "table-view-grouped-dark.png", view)
        panel.set_theme("JupyterLab Light")
        panel.group_by(view, "")
        expect(panel.group_headers(view)).to_have_count(0)
        expect(panel.table_rows(view)).to_have_count(6)
        assert ui.errors == []
    finally:
        context.close()
