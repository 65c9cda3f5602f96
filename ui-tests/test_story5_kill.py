"""Story 5: "Kill" in the runs table's context menu stops a running run."""

from __future__ import annotations

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def test_kill_from_context_menu(lab: Lab, ui: LabPage) -> None:
    path = lab.write_notebook(
        "story5.ipynb",
        [
            "%load_ext trackrun\nimport time",
            "%%track_run --detach --name story5-long\n"
            "for i in range(600):\n    print('tick', i, flush=True)\n    time.sleep(0.2)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    ui.expect_row_status("story5-long", "running", timeout=60_000)
    expect(ui.status_item()).to_contain_text("1 running")

    # Kill asks first; Cancel (focused, so Enter cancels too) leaves the run running.
    ui.context_menu("story5-long", "Kill Run")
    expect(ui.dialog()).to_contain_text("story5-long")
    expect(ui.focused_dialog_button()).to_have_text("Cancel")
    ui.dialog_button("Cancel").click()
    expect(ui.dialog()).to_have_count(0)
    assert ui.row_status("story5-long") == "running"

    ui.context_menu("story5-long", "Kill Run")
    ui.dialog_button("Kill").click()

    ui.expect_row_status("story5-long", "killed", timeout=30_000)
    expect(ui.status_item()).to_contain_text("no runs running", timeout=30_000)
    assert not ui.errors, ui.errors
