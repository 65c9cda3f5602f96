"""Story 22: a finished script run is reproduced from its run view. A notification says it is
reproducing, then gives the verdict (identical) with a way to compare the two runs; the run
view's Reproduction line links the two runs both ways, and a reproduction still running when
the page is reloaded is still shown, and ends in its verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import Lab
from pages import LabPage, ReproducePage
from playwright.sync_api import expect

NAME = "story22-tiny"
HOLD = "story22.hold"
SCRIPT = f'''"""Story 22's training: deterministic, so that its reproduction comes out identical."""
import os
import re
import time

import trackrun

with trackrun.start_run(name={NAME!r}, params={{"k": 3}}):
    # The test holds a reproduction here while this file exists (the original never waits).
    while os.path.exists({HOLD!r}):
        time.sleep(0.1)
    for step in range(5):
        trackrun.log(loss=1.0 / (step + 1), step=step)
'''


def test_reproduce_from_the_run_view(lab: Lab, ui: LabPage, screenshots: Path) -> None:
    # A real script run through trackrun: its record holds the script, so it can be reproduced.
    (lab.root / "story22_train.py").write_text(SCRIPT)
    env = {**os.environ, "TRACKRUN_HOME": str(lab.store)}
    subprocess.run(
        [sys.executable, "story22_train.py"], cwd=lab.root, env=env, check=True, timeout=120
    )
    [original] = [r["run_id"] for r in lab.runs(f"name = '{NAME}'")]
    repro = ReproducePage(ui)
    ui.open_sidebar()
    ui.expect_row_status(NAME, "finished")
    # The runs table's context menu offers it too (enabled: the run has ended).
    item = repro.menu_item(ui.right_click(NAME))
    expect(item).to_be_visible()
    expect(item).not_to_have_class(re.compile(r"lm-mod-disabled"))
    ui.close_menu()
    ui.open_run(NAME)
    expect(repro.run_id()).to_have_text(original)
    expect(repro.line()).to_have_count(0)  # never reproduced: no line

    hold = lab.root / HOLD
    hold.write_text("")
    try:
        repro.button().click()
        expect(repro.toast(f"Reproducing {NAME}")).to_be_visible()
        expect(repro.line()).to_have_attribute("data-state", "running")
        expect(repro.line_text()).to_contain_text("running since")
        expect(repro.button()).to_be_disabled()
    finally:
        hold.unlink()

    verdict = repro.toast(f"Reproduced {NAME}: identical")
    expect(verdict).to_be_visible(timeout=120_000)
    expect(repro.toast(f"Reproducing {NAME}")).to_have_count(0)  # the same toast, updated
    expect(repro.line()).to_have_attribute("data-verdict", "identical")
    expect(repro.line_text()).to_have_text("identical")
    last = lab.api("GET", f"/trackrun/api/runs/{original}")["reproduction"]["last"]
    new = last["reproduction"]
    assert (last["verdict"], last["original"]) == ("identical", original)
    expect(repro.other_run()).to_have_text(new)
    expect(repro.line()).to_contain_text(f"reproduced by {new}")
    ui.screenshot(screenshots / "run-view-reproduced.png")

    # The notification's Compare opens the two runs side by side.
    repro.toast_action(f"Reproduced {NAME}: identical", "Compare").click()
    expect(repro.compare_view()).to_be_visible()
    ui.main_tabs(NAME).first.click()
    expect(repro.run_id()).to_have_text(original)

    # The line's link opens the reproducing run, whose own line links back.
    repro.other_run().click()
    expect(repro.run_id()).to_have_text(new)
    expect(repro.line()).to_have_attribute("data-verdict", "identical")
    expect(repro.line()).to_contain_text(f"reproduces {original}")
    repro.other_run().click()
    expect(repro.run_id()).to_have_text(original)

    # Reproduced again, and the page reloaded meanwhile: the server still says it runs,
    # and the restored run view ends in the new verdict.
    hold.write_text("")
    try:
        repro.button().click()
        expect(repro.line()).to_have_attribute("data-state", "running")
        ui.reload()
        expect(repro.run_id()).to_have_text(original)
        expect(repro.line()).to_have_attribute("data-state", "running")
    finally:
        hold.unlink()
    expect(repro.line()).to_have_attribute("data-state", "done", timeout=120_000)
    again = lab.api("GET", f"/trackrun/api/runs/{original}")["reproduction"]["last"]
    assert again["verdict"] == "identical" and again["reproduction"] not in (original, new)
    expect(repro.other_run()).to_have_text(again["reproduction"])
    assert not ui.errors, ui.errors
