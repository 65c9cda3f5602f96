"""Story 17: "Rerun" asks first and shows the params it will use; a changed value is sent as
an override, and the new run really runs with it."""

from __future__ import annotations

import time

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def _wait_for_run(lab: Lab, filter_text: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = lab.runs(filter_text)
        if runs:
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"no run matched {filter_text!r} within {timeout}s")


def test_rerun_confirms_and_sends_the_changed_param(lab: Lab, ui: LabPage) -> None:
    path = lab.write_notebook(
        "story17.ipynb",
        [
            "%load_ext trackrun\nlr = 0.1",
            "%%track_run --detach --name story17-base\nimport trackrun\ntrackrun.log(used_lr=lr)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    ui.expect_row_status("story17-base", "finished", timeout=90_000)

    # Cancel starts nothing.
    ui.context_menu("story17-base", "Rerun")
    expect(ui.dialog()).to_contain_text("story17-base")
    expect(ui.rerun_field("lr")).to_have_value("0.1")
    expect(ui.dialog()).to_contain_text("No overrides")
    ui.dialog_button("Cancel").click()
    expect(ui.dialog()).to_have_count(0)
    assert [r["name"] for r in lab.runs("name ~ story17")] == ["story17-base"]

    # A changed value is shown as an override and sent with the rerun.
    ui.context_menu("story17-base", "Rerun")
    ui.rerun_field("lr").fill("0.5")
    expect(ui.dialog()).to_contain_text("Overrides: lr = 0.5")
    ui.dialog_button("Rerun").click()
    rerun = _wait_for_run(lab, "name = 'story17-base-rerun' and status = finished")
    assert rerun["params"] == {"lr": 0.5}
    detail = lab.api("GET", f"/trackrun/api/runs/{rerun['run_id']}")
    assert detail["metrics"]["used_lr"]["last"] == 0.5  # the job really read the override
    assert not ui.errors, ui.errors
