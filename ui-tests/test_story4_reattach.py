"""Story 4: "Reattach in notebook" inserts a `%track_run --attach ID` cell in the run's
notebook and runs it; the cell shows the run's output."""

from __future__ import annotations

from conftest import Lab
from pages import LabPage
from playwright.sync_api import expect


def test_reattach_inserts_and_runs_the_attach_cell(lab: Lab, ui: LabPage) -> None:
    path = lab.write_notebook(
        "story4.ipynb",
        [
            "%load_ext trackrun\nfrom train_digits import train",
            "%%track_run --detach --name story4-reattach\nacc = train(epochs=3, delay=0.5)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    ui.expect_row_status("story4-reattach", "finished", timeout=120_000)
    run_id = ui.row("story4-reattach").get_attribute("data-run-id")
    cells_before = ui.cells().count()
    ui.save()
    ui.command("application:close")  # reattach reopens the notebook itself
    expect(ui.notebooks()).to_have_count(0)

    ui.context_menu("story4-reattach", "Reattach in Notebook")

    cells = ui.cells()
    expect(cells).to_have_count(cells_before + 1, timeout=30_000)
    attach_cell = ui.cell_with_source(f"%track_run --attach {run_id}")
    expect(attach_cell).to_have_count(1)
    # The attach cell prints the run's log so far, then loads its outputs.
    output = ui.cell_output(attach_cell)
    expect(output).to_contain_text("epoch 2:", timeout=60_000)
    expect(output).to_contain_text("loaded", timeout=60_000)
    assert not ui.errors, ui.errors
