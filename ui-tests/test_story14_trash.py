"""Story 14: deleted runs wait in the sidebar's Trash section, to be restored or deleted for
good (behind a confirmation that starts on Cancel)."""

from __future__ import annotations

from conftest import Lab, open_page
from fabricate import FakeRun, write_runs
from pages import PanelTablePage
from playwright.sync_api import expect


def test_delete_restore_and_delete_forever(lab: Lab, playwright_browser, screenshots) -> None:
    ids = write_runs(
        lab.store,
        [
            FakeRun(name="trash-keep", params={"lr": 0.1}, metrics={"loss": [0.5, 0.2]}),
            FakeRun(name="trash-gone", params={"lr": 0.2}, metrics={"loss": [0.6, 0.3]}),
            FakeRun(name="trash-stay", params={"lr": 0.3}),
        ],
    )
    keep, gone = ids[0], ids[1]
    context, ui = open_page(playwright_browser, lab)
    panel = PanelTablePage(ui)
    try:
        ui.open_sidebar()
        expect(ui.row("trash-keep")).to_be_visible()
        trash = panel.open_trash()
        expect(trash).to_contain_text("Trash")

        # Delete a run: it leaves the list and shows under Trash.
        ui.context_menu("trash-keep", "Delete Run")
        expect(ui.focused_dialog_button()).to_have_text("Cancel")
        ui.dialog_button("Delete").click()
        expect(ui.row("trash-keep")).to_have_count(0)
        expect(panel.trash_row("trash-keep")).to_be_visible()
        assert (lab.store / "trash" / keep).is_dir()

        # Restore: back in the list with its values, gone from the trash.
        panel.restore("trash-keep")
        expect(ui.row("trash-keep")).to_be_visible()
        expect(panel.trash_row("trash-keep")).to_have_count(0)
        assert (lab.store / "runs" / keep / "run.json").is_file()
        expect(ui.row("trash-keep")).to_contain_text("0.1")

        # Delete another, then delete it forever: the confirmation starts on Cancel, and
        # Enter there deletes nothing.
        ui.context_menu("trash-gone", "Delete Run")
        ui.dialog_button("Delete").click()
        expect(panel.trash_row("trash-gone")).to_be_visible()
        ui.page.mouse.move(0, 0)
        ui.screenshot(screenshots / "panel-trash.png", ui.panel())
        panel.delete_forever("trash-gone")
        expect(ui.dialog()).to_contain_text("cannot be undone")
        expect(ui.focused_dialog_button()).to_have_text("Cancel")
        ui.screenshot(screenshots / "panel-trash-confirm.png", ui.dialog())
        ui.page.keyboard.press("Enter")
        expect(ui.dialog()).to_have_count(0)
        expect(panel.trash_row("trash-gone")).to_be_visible()
        assert (lab.store / "trash" / gone).is_dir()

        panel.delete_forever("trash-gone")
        ui.dialog_button("Delete Forever").click()
        expect(panel.trash_row("trash-gone")).to_have_count(0)
        assert not (lab.store / "trash" / gone).exists()
        assert not (lab.store / "runs" / gone).exists()
        expect(ui.row("trash-stay")).to_be_visible()
        assert ui.errors == []

        # The same section in the dark theme.
        ui.context_menu("trash-stay", "Delete Run")
        ui.dialog_button("Delete").click()
        expect(panel.trash_row("trash-stay")).to_be_visible()
        panel.set_theme("JupyterLab Dark")
        ui.page.mouse.move(0, 0)
        ui.screenshot(screenshots / "panel-trash-dark.png", ui.panel())
        panel.set_theme("JupyterLab Light")
    finally:
        context.close()
