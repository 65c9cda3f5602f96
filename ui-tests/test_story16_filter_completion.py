"""Story 16: the filter box completes fields, params./metrics. keys, tags and statuses from
the store, in a list under it that the keyboard drives."""

from __future__ import annotations

from conftest import Lab, open_page
from fabricate import FakeRun, write_runs
from pages import PanelTablePage
from playwright.sync_api import expect


def test_completes_keys_from_the_store(lab: Lab, playwright_browser, screenshots) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(
                name="ac-a",
                params={"lr": 0.1, "layers": 2},
                metrics={"val_acc": [0.5]},
                tags=["baseline"],
            ),
            FakeRun(name="ac-b", params={"lr": 0.01, "layers": 4}, metrics={"val_acc": [0.7]}),
        ],
    )
    context, ui = open_page(playwright_browser, lab)
    panel = PanelTablePage(ui)
    try:
        ui.open_sidebar()
        expect(ui.row("ac-b")).to_be_visible()
        panel.type_filter("params.")
        expect(panel.completions()).to_be_visible()
        # The session's store also holds other stories' runs: find ours among the keys.
        expect(panel.completions()).to_contain_text("params.layers")
        expect(panel.completions()).to_contain_text("params.lr")
        labels = panel.completion_labels().all_text_contents()
        expect(panel.active_completion()).to_contain_text(labels[0])
        for _ in range(labels.index("params.lr")):
            ui.page.keyboard.press("ArrowDown")
        expect(panel.active_completion()).to_contain_text("params.lr")
        ui.screenshot(screenshots / "panel-filter-completion.png", ui.panel())
        ui.page.keyboard.press("Enter")
        expect(ui.filter_box()).to_have_value("params.lr ")
        expect(panel.completions()).to_have_count(0)
        # Finish the filter by hand (scoped to this story's runs: the session's store also
        # holds other stories'): it applies as usual.
        ui.filter_box().press_sequentially("< 0.05 and name ~ 'ac-'", delay=20)
        ui.filter_box().press("Enter")
        expect(ui.rows()).to_have_count(1)
        expect(ui.row("ac-b")).to_be_visible()

        # Statuses after `status =`, Tab inserts; tags after tag:; Escape closes the list
        # and keeps the text.
        ui.filter_box().fill("")
        panel.type_filter("status = f")
        expect(panel.completion_labels()).to_have_text(["finished", "failed"])
        ui.page.keyboard.press("Tab")
        expect(ui.filter_box()).to_have_value("status = finished ")
        ui.filter_box().fill("")
        panel.type_filter("tag:ba")
        expect(panel.active_completion()).to_contain_text("tag:baseline")
        ui.page.keyboard.press("Escape")
        expect(panel.completions()).to_have_count(0)
        expect(ui.filter_box()).to_have_value("tag:ba")

        panel.set_theme("JupyterLab Dark")
        ui.filter_box().fill("")
        panel.type_filter("metrics.")
        expect(panel.completions()).to_contain_text("metrics.val_acc")
        ui.screenshot(screenshots / "panel-filter-completion-dark.png", ui.panel())
        panel.set_theme("JupyterLab Light")
        assert ui.errors == []
    finally:
        context.close()
