"""Story 9: the filter box searches free text, and an invalid filter is shown, not polled."""

from __future__ import annotations

from conftest import Lab, open_page
from fabricate import FakeRun, write_runs
from playwright.sync_api import expect


def test_free_text_searches_names_tags_and_notes(lab: Lab, playwright_browser) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(name="ft-resnet-a"),
            FakeRun(name="ft-plain", tags=["resnet"]),
            FakeRun(name="ft-noted", note="tried a ResNet here"),
            FakeRun(name="ft-other"),
        ],
    )
    context, ui = open_page(playwright_browser, lab)
    try:
        ui.open_sidebar()
        expect(ui.row("ft-other")).to_be_visible()
        ui.filter("ft resnet")  # two words: both must match somewhere
        expect(ui.filter_error()).to_have_count(0)
        # Each word is found in the name, a tag or the note.
        expect(ui.row("ft-resnet-a")).to_be_visible()
        expect(ui.row("ft-plain")).to_be_visible()
        expect(ui.row("ft-noted")).to_be_visible()
        expect(ui.rows()).to_have_count(3)
        expect(ui.row("ft-other")).to_have_count(0)
    finally:
        context.close()


def test_invalid_filter_is_shown_once_and_marks_rows_stale(lab: Lab, playwright_browser) -> None:
    write_runs(lab.store, [FakeRun(name="stale-a", params={"lr": 0.1})])
    context, ui = open_page(playwright_browser, lab, fake_clock=True)
    sent: list[str] = []
    ui.page.on(
        "request",
        lambda r: sent.append(r.url) if "/trackrun/api/runs?" in r.url else None,
    )
    try:
        ui.open_sidebar()
        expect(ui.row("stale-a")).to_be_visible()
        ui.filter("params.lr <")
        expect(ui.filter_error()).to_be_visible()
        # The rows of the last valid filter stay, marked as stale.
        expect(ui.stale_table()).to_be_visible()
        expect(ui.stale_note()).to_contain_text("last valid filter")
        invalid = [u for u in sent if "lr+%3C" in u or "lr%20%3C" in u]
        assert len(invalid) == 1, invalid
        # A minute of polling time passes; the same 400 is not asked for again.
        ui.page.clock.run_for(60_000)
        ui.filter("params.lr > 0.05")  # a valid filter: its answer comes after any other
        expect(ui.stale_table()).to_have_count(0)
        expect(ui.row("stale-a")).to_be_visible()
        invalid = [u for u in sent if "lr+%3C" in u or "lr%20%3C" in u]
        assert len(invalid) == 1, invalid
    finally:
        context.close()
