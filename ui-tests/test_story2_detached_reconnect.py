"""Story 2: a detached training goes on after the page closes; a new page finds it running,
the launching cell's output follows it live again, and the run view follows its log."""

from __future__ import annotations

from conftest import Lab, open_page
from pages import LabPage
from playwright.sync_api import expect


def test_detached_run_survives_the_page(
    lab: Lab, ui: LabPage, playwright_browser, screenshots
) -> None:
    path = lab.write_notebook(
        "story2.ipynb",
        [
            "%load_ext trackrun\nfrom train_digits import train",
            "lr = 0.05",
            "%%track_run --detach --name story2-detached\n"
            "acc = train(lr=lr, epochs=12, delay=1.2, progress=True)",
        ],
    )
    ui.open_sidebar()
    ui.open_notebook(path)
    ui.run_all_cells()
    expect(ui.row("story2-detached")).to_be_visible(timeout=60_000)
    expect(ui.run_outputs().first).to_be_visible(timeout=60_000)
    ui.save()
    ui.page.close()  # the browser goes away; the run must not

    context, page = open_page(playwright_browser, lab)
    try:
        page.open_sidebar()
        page.expect_row_status("story2-detached", "running", timeout=30_000)

        # The launching cell's output comes back from the saved notebook and follows the run.
        page.open_notebook(path)
        output = page.run_outputs().first
        expect(output).to_be_visible(timeout=30_000)
        expect(output).to_have_attribute("data-status", "running", timeout=30_000)
        expect(page.output_status(output)).to_contain_text("running")
        expect(page.output_last_line(output)).to_be_visible(timeout=30_000)
        page.output_toggle(output).click()
        expect(page.chart_svgs(output)).to_be_visible(timeout=30_000)
        page.screenshot(
            screenshots / "output.png",
            page.cell_of(output),
        )
        page.output_toggle(output).click()

        # The run view follows the log live: new epochs appear while it runs.
        page.open_run("story2-detached")
        page.run_view_tab("log")
        lines = page.log_lines()
        expect(lines.filter(has_text="epoch")).not_to_have_count(0, timeout=60_000)
        seen = lines.filter(has_text="epoch").count()
        expect(lines.filter(has_text=f"epoch {seen}:")).to_have_count(1, timeout=60_000)
        # Progress bars are drawn at their last state: one line per redrawn bar, no \r.
        assert "\r" not in (lines.first.text_content() or "")
        page.screenshot(screenshots / "run-view-log.png")

        expect(page.run_view_status()).to_contain_text("finished", timeout=120_000)
        expect(lines.filter(has_text="epoch 11:")).to_have_count(1)
        page.open_notebook(path)  # back to the notebook tab: its output shows the end too
        expect(output).to_have_attribute("data-status", "finished", timeout=30_000)
        assert not page.errors, page.errors
    finally:
        context.close()
