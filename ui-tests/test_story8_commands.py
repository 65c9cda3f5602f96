"""Story 8: commands act on the selection and say why when they cannot; destructive ones
ask first (kill: test_story5_kill); browsing runs reuses one preview tab; a run's end is told in words."""

from __future__ import annotations

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage
from playwright.sync_api import expect


def test_compare_button_after_right_click_outside_selection(lab: Lab, ui: LabPage) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(name=f"rc-{n}", params={"lr": lr}, metrics={"loss": [1.0, 0.5 + lr]})
            for n, lr in (("a", 0.1), ("b", 0.2), ("c", 0.3))
        ],
    )
    ui.open_sidebar()
    expect(ui.row("rc-c")).to_be_visible()
    # Right-click a row outside the selection, dismiss the menu, then select two runs.
    ui.select("rc-a", "rc-b")
    ui.right_click("rc-c")
    ui.close_menu()
    ui.select("rc-a", "rc-b")
    expect(ui.compare_button()).to_have_text("Compare (2)")

    view = ui.compare_selected()  # before the fix: nothing opened

    params = ui.compare_params(view)
    expect(ui.field_row(params, "lr")).to_contain_text("0.1")
    expect(ui.field_row(params, "lr")).to_contain_text("0.2")
    expect(ui.field_row(params, "lr")).not_to_contain_text("0.3")


def test_compare_with_one_run_says_why(lab: Lab, ui: LabPage) -> None:
    write_runs(lab.store, [FakeRun(name="why-one")])
    ui.open_sidebar()
    ui.select("why-one")
    ui.command("trackrun:compare")
    expect(ui.toasts().filter(has_text="Compare needs 2 or more runs")).to_be_visible()


def test_delete_dialog_focuses_cancel(lab: Lab, ui: LabPage) -> None:
    write_runs(lab.store, [FakeRun(name="keep-me")])
    ui.open_sidebar()
    expect(ui.row("keep-me")).to_be_visible()

    ui.context_menu("keep-me", "Delete Run")
    expect(ui.dialog()).to_be_visible()
    expect(ui.focused_dialog_button()).to_have_text("Cancel")
    ui.page.keyboard.press("Enter")  # Enter on the focused Cancel: nothing is deleted
    expect(ui.dialog()).to_have_count(0)
    expect(ui.row("keep-me")).to_be_visible()


def test_opening_runs_reuses_one_preview_tab(lab: Lab, ui: LabPage) -> None:
    write_runs(lab.store, [FakeRun(name=f"tab-{i}") for i in range(3)])
    ui.open_sidebar()
    expect(ui.row("tab-2")).to_be_visible()
    ui.open_run("tab-0")
    ui.open_run("tab-1")
    # The second run replaced the first one's tab.
    expect(ui.main_tabs("tab-1")).to_have_count(1)
    expect(ui.main_tabs("tab-0")).to_have_count(0)
    expect(ui.preview_tabs()).to_have_count(1)
    # Kept open, it stays when the next run opens.
    ui.run_view_pin().click()
    expect(ui.preview_tabs()).to_have_count(0)
    ui.open_run("tab-2")
    expect(ui.main_tabs("tab-1")).to_have_count(1)
    expect(ui.main_tabs("tab-2")).to_have_count(1)
    expect(ui.preview_tabs()).to_have_count(1)
    # Double-clicking the preview's tab keeps it too.
    ui.main_tabs("tab-2").dblclick()
    expect(ui.preview_tabs()).to_have_count(0)
    expect(ui.run_view_pin()).to_have_count(0)


def test_run_end_in_words_and_true_attempt_count(lab: Lab, ui: LabPage) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(name="words-killed", status="killed", attempts=[-15]),
            FakeRun(name="words-retried", status="failed", attempts=[1, 3]),
        ],
    )
    ui.open_sidebar()
    expect(ui.row("words-retried")).to_be_visible()

    ui.open_run("words-killed")
    expect(ui.run_view_status_detail()).to_have_text("terminated by the user (SIGTERM)")
    expect(ui.run_view_chips().filter(has_text="attempts")).to_have_count(0)
    expect(ui.attempts_rows()).to_have_count(1)
    expect(ui.run_view()).not_to_contain_text("exit code -15")

    ui.open_run("words-retried")
    expect(ui.run_view_status_detail()).to_have_text("failed with exit code 3")
    expect(ui.run_view_chips().filter(has_text="attempts")).to_have_text("2 attempts")
    expect(ui.attempts_rows()).to_have_count(2)
