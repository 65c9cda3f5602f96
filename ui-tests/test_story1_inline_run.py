"""Story 1: run a %%track_run training cell; the run appears in the sidebar and finishes
with its metrics; the cell's output follows it."""

from __future__ import annotations

import re

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def test_inline_run_appears_and_finishes(lab: Lab, ui: LabPage, screenshots) -> None:
    path = lab.write_notebook(
        "story1.ipynb",
        [
            "%load_ext trackrun\nfrom train_digits import train",
            "lr = 0.05\nepochs = 4",
            "%%track_run --name story1-inline\nacc = train(lr=lr, epochs=epochs, delay=0.3)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()

    # The run shows up while it runs (or has already finished: the training is short).
    expect(ui.row("story1-inline")).to_be_visible(timeout=60_000)
    ui.expect_row_status("story1-inline", "finished", timeout=120_000)

    # Its metrics arrive as columns (the first two metrics are shown by default).
    expect(ui.number_cells("story1-inline").first).to_have_text(re.compile(r"\d"), timeout=30_000)

    # The cell's output renders the run bundle and follows it to the end.
    output = ui.run_outputs().first
    expect(output).to_have_attribute("data-status", "finished", timeout=60_000)
    expect(output).to_contain_text("story1-inline")
    expect(output).to_contain_text("val_acc")

    # The run view shows the params the cell read and the metric chart.
    view = ui.open_run("story1-inline")
    expect(ui.run_view_status()).to_contain_text("finished")
    expect(ui.run_view_params()).to_contain_text("lr")
    expect(ui.chart_svgs(view).first).to_be_visible(timeout=30_000)
    ui.screenshot(screenshots / "run-view.png")
    assert not ui.errors, ui.errors
