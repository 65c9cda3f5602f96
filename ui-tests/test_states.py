"""Empty, error and filter states of the sidebar: what a new user and a broken setup see."""

from __future__ import annotations

from conftest import Lab, make_project, open_page
from pages import LabPage
from playwright.sync_api import expect


def test_filter_errors_inline_and_sorting(lab: Lab, ui: LabPage) -> None:
    from fabricate import FakeRun, write_runs

    write_runs(
        lab.store,
        [FakeRun(name=f"filter-{i}", params={"lr": 0.001 * (i + 1)}) for i in range(3)],
    )
    ui.open_sidebar()
    expect(ui.row("filter-2")).to_be_visible()
    ui.filter("params.lr <")
    expect(ui.filter_error()).to_be_visible()
    expect(ui.filter_error()).to_contain_text("^")
    ui.filter("params.lr > 0.0015 and name ~ filter")
    expect(ui.filter_error()).to_have_count(0)
    expect(ui.rows()).to_have_count(2)
    ui.sort_by("name")
    expect(ui.rows().first).to_contain_text("filter-1")
    ui.sort_by("name")
    expect(ui.rows().first).to_contain_text("filter-2")
    ui.filter("")
    expect(ui.row("filter-0")).to_be_visible()


def test_empty_store_and_missing_extension(tmp_path, playwright_browser, screenshots) -> None:
    # A fresh project: the sidebar explains how to start a run.
    fresh = Lab.start(make_project(tmp_path / "fresh"))
    try:
        context, page = open_page(playwright_browser, fresh)
        page.open_sidebar()
        expect(page.empty_state()).to_contain_text("%%track_run")
        expect(page.empty_state()).to_contain_text("%load_ext trackrun")
        page.screenshot(screenshots / "sidebar-empty.png", page.panel())
        context.close()
    finally:
        fresh.stop()
    # The server extension disabled: the sidebar says so instead of spinning.
    bare = Lab.start(
        make_project(tmp_path / "bare"),
        ["--ServerApp.jpserver_extensions=trackrun=False"],
    )
    try:
        context, page = open_page(playwright_browser, bare)
        page.open_sidebar()
        expect(page.banner()).to_contain_text("server extension is not enabled")
        context.close()
    finally:
        bare.stop()


def test_polling_unchanged_store_refetches_nothing_and_no_redraw(lab: Lab, ui: LabPage) -> None:
    from fabricate import FakeRun, write_runs

    write_runs(lab.store, [FakeRun(name="poll-steady")])
    ui.open_sidebar()
    expect(ui.row("poll-steady")).to_be_visible()
    # Mark the row's DOM node; an unchanged store must leave that very node in place.
    ui.row("poll-steady").evaluate("node => { node.__trackrunMark = 1; }")
    lists: list[str] = []
    ui.page.on("request", lambda r: lists.append(r.url) if "/trackrun/api/runs?" in r.url else None)
    # The panel follows the change feed (a long poll): an unchanged store answers it with
    # nothing changed, and the list is never fetched again.
    for _ in range(2):
        with ui.page.expect_response(
            lambda r: "/trackrun/api/changes?" in r.url and r.status == 200, timeout=30_000
        ) as answer:
            pass
    assert answer.value.json()["runs"] == [] and answer.value.json()["deleted"] == []
    assert lists == []
    assert ui.row("poll-steady").evaluate("node => node.__trackrunMark === 1")
