"""Story 11: the runs table shows what tells runs apart, and keeps the user's sort, filter,
columns and widths across a reload (per store, in JupyterLab's state database)."""

from __future__ import annotations

from conftest import Lab, make_project, open_page
from fabricate import FakeRun, write_runs
from playwright.sync_api import expect


def test_table_defaults_and_look_kept_across_reload(tmp_path, playwright_browser) -> None:
    # A store of its own: default columns depend on every run in it.
    server = Lab.start(make_project(tmp_path / "table"))
    try:
        write_runs(
            server.store,
            [
                FakeRun(
                    name=f"tb-{i}",
                    params={"lr": 0.1 * (i + 1), "epochs": 5},
                    metrics={"loss": [1.0, 0.5 - 0.1 * i], **({"rare": [1.0]} if i == 0 else {})},
                    tags=["baseline"] if i == 0 else [],
                )
                for i in range(3)
            ],
        )
        context, ui = open_page(playwright_browser, server)
        try:
            ui.open_sidebar()
            ui.widen_sidebar(760)  # wide enough for every column
            expect(ui.row("tb-2")).to_be_visible()
            # Defaults: tags, the param the runs differ in, the metric most runs have.
            order = ui.column_order()
            assert order[:2] == ["status", "name"], order
            assert "tags" in order and "params.lr" in order and "metrics.loss" in order, order
            assert "params.epochs" not in order and "metrics.rare" not in order, (
                order,
                [(r["params"], list(r["metrics"])) for r in server.runs()],
            )

            ui.sort_by("name")
            ui.filter("tb")
            ui.toggle_column("notebook")  # hide it
            ui.move_column("params.lr", "started")
            width = ui.header("duration").bounding_box()
            assert width is not None
            with ui.expect_workspace_saved('"duration"'):  # the widths are saved
                ui.resize_column("duration", 60)
            expect(ui.header("notebook")).to_have_count(0)
            widened = ui.header("duration").bounding_box()
            assert widened is not None and widened["width"] > width["width"] + 40
            order = ui.column_order()
            assert order.index("params.lr") == order.index("started") - 1, order
            expect(ui.rows().first).to_contain_text("tb-0")

            ui.reload()
            ui.open_sidebar()
            expect(ui.row("tb-2")).to_be_visible()
            expect(ui.filter_box()).to_have_value("tb")
            expect(ui.header("name")).to_have_attribute("aria-sort", "ascending")
            expect(ui.header("notebook")).to_have_count(0)
            assert ui.column_order() == order
            kept = ui.header("duration").bounding_box()
            assert kept is not None and abs(kept["width"] - widened["width"]) < 2
        finally:
            context.close()
    finally:
        server.stop()
