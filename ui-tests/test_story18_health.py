"""Story 18: a run whose writer had to drop records says so in its run view."""

from __future__ import annotations

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def test_run_view_warns_of_dropped_records(lab: Lab, ui: LabPage) -> None:
    from fabricate import FakeRun, write_runs

    from trackrun.events import append_event
    from trackrun.layout import RunPaths

    hurt, healthy = write_runs(
        lab.store,
        [
            FakeRun(name="story18-hurt", metrics={"loss": [1.0, 0.5]}),
            FakeRun(name="story18-healthy", metrics={"loss": [1.0, 0.5]}),
        ],
    )
    paths = RunPaths(lab.store / "runs" / hurt)
    append_event(paths.events_of("observer"), "status", status="finished", dropped_records=2048)
    ui.open_sidebar()
    ui.open_run("story18-hurt")
    expect(ui.run_view_dropped()).to_contain_text("2,048 records were dropped")
    ui.open_run("story18-healthy")
    expect(ui.run_view_name()).to_have_text("story18-healthy")
    expect(ui.run_view_dropped()).to_have_count(0)
    assert healthy and not ui.errors, ui.errors
