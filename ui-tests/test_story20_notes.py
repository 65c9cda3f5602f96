"""Story 20: a run badly named at launch gets a better name and a note afterwards; the run
view shows the note (plain text, newlines kept), the sidebar list the new name, and both
are still there after a reload."""

from __future__ import annotations

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage, RunNotesPage
from playwright.sync_api import expect

NOTE = "Diverged at step 40: lr too high.\n<b>not bold</b> — the one in Figure 3"


def test_rename_and_note_from_the_run_view(lab: Lab, ui: LabPage) -> None:
    [run_id, other_id] = write_runs(
        lab.store,
        [
            FakeRun(name="story20-witty-glacier", params={"lr": 0.3}, metrics={"loss": [1, 2]}),
            FakeRun(name="story20-other", params={"lr": 0.1}, note="left alone"),
        ],
    )
    notes = RunNotesPage(ui)
    ui.open_sidebar()
    expect(ui.row("story20-witty-glacier")).to_be_visible()
    ui.open_run("story20-witty-glacier")
    expect(notes.note()).to_have_count(0)  # no note yet: nothing under the title

    # The dialog starts with the current name, focused; a bad name is explained, not sent.
    notes.open_editor()
    expect(notes.name_field()).to_have_value("story20-witty-glacier")
    expect(notes.name_field()).to_be_focused()
    notes.name_field().fill("   ")
    expect(notes.hint()).to_contain_text("cannot be empty")
    ui.dialog_button("Cancel").click()
    expect(ui.dialog()).to_have_count(0)
    assert lab.api("GET", f"/trackrun/api/runs/{run_id}")["name"] == "story20-witty-glacier"

    # Save a new name and a two-line note (typed: Enter in the note is a newline).
    notes.open_editor()
    notes.name_field().fill("story20-lr-too-high")
    notes.note_field().click()
    first, second = NOTE.split("\n")
    notes.note_field().press_sequentially(first)
    notes.note_field().press("Enter")
    notes.note_field().press_sequentially(second)
    expect(ui.dialog()).to_be_visible()  # Enter in the note did not save
    notes.save()
    expect(ui.dialog()).to_have_count(0)

    expect(ui.run_view_name()).to_have_text("story20-lr-too-high")
    expect(notes.note()).to_have_text(NOTE)  # as text: the <b> is not markup
    assert notes.note().locator("b").count() == 0
    assert "\n" in notes.note().inner_text()  # the newline is kept on screen
    # The sidebar list gets the renamed row from the change feed.
    expect(ui.row("story20-lr-too-high")).to_be_visible()
    expect(ui.row("story20-witty-glacier")).to_have_count(0)
    detail = lab.api("GET", f"/trackrun/api/runs/{run_id}")
    assert (detail["name"], detail["note"]) == ("story20-lr-too-high", NOTE)
    assert lab.api("GET", f"/trackrun/api/runs/{other_id}")["note"] == "left alone"

    # After a reload, the restored run view and the list still show them.
    ui.reload()
    ui.open_sidebar()
    expect(ui.row("story20-lr-too-high")).to_be_visible()
    ui.open_run("story20-lr-too-high")
    expect(ui.run_view_name()).to_have_text("story20-lr-too-high")
    expect(notes.note()).to_have_text(NOTE)

    # The context menu offers the same dialog; clearing the note removes it from the view.
    ui.context_menu("story20-lr-too-high", "Edit Run Name and Note")
    expect(notes.note_field()).to_have_value(NOTE)
    notes.note_field().fill("")
    notes.save()
    expect(notes.note()).to_have_count(0)
    assert lab.api("GET", f"/trackrun/api/runs/{run_id}")["note"] is None
    assert not ui.errors, ui.errors
