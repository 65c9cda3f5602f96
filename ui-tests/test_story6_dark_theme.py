"""Story 6: the panel in JupyterLab's dark theme (screenshots for the README)."""

from __future__ import annotations

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage
from playwright.sync_api import expect


def test_dark_theme_screenshots(lab: Lab, ui: LabPage, screenshots) -> None:
    ids = write_runs(
        lab.store,
        [
            FakeRun(
                name=f"dark-{lr}",
                params={"lr": lr, "hidden": 64},
                metrics={
                    "val_acc": [0.4 + 0.1 * i + lr for i in range(5)],
                    "loss": [1.0 - 0.15 * i - lr for i in range(5)],
                },
                log="epoch 0: \x1b[32mok\x1b[0m\n\x1b[31mwarning: slow\x1b[0m\n",
                tags=["dark"],
                code=f"lr = {lr}\n",
            )
            for lr in (0.01, 0.05)
        ],
    )
    # A notebook whose saved output is the run's bundle, as %%track_run leaves it.
    bundle = {"run_id": ids[1], "name": "dark-0.05", "store": str(lab.store)}
    notebook = lab.write_notebook(
        "story6.ipynb",
        ["%%track_run --name dark-0.05\ntrain()"],
        outputs={
            0: [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "application/vnd.trackrun.run+json": bundle,
                        "text/plain": ["trackrun run dark-0.05"],
                    },
                }
            ]
        },
    )
    ui.set_theme("JupyterLab Dark")
    try:
        ui.open_sidebar()
        expect(ui.row("dark-0.01")).to_be_visible()
        ui.select("dark-0.01", "dark-0.05")
        view = ui.compare_selected()
        expect(ui.compare_chart(view)).to_be_visible(timeout=30_000)
        ui.screenshot(screenshots / "dark-compare.png")
        run = ui.open_run("dark-0.05")
        expect(ui.chart_svgs(run).first).to_be_visible(timeout=30_000)
        ui.screenshot(screenshots / "dark-run-view.png")
        # Text colours come from the theme: light text on the dark background.
        color = ui.run_view_name().evaluate("n => getComputedStyle(n).color")
        assert color.startswith("rgb"), color
        red, green, blue = (int(c) for c in color[color.index("(") + 1 : -1].split(",")[:3])
        assert red + green + blue > 384, f"dark theme text too dark: {color}"

        # The runs table and the cell's view, in the dark theme too.
        ui.widen_sidebar(640)
        ui.screenshot(screenshots / "dark-sidebar.png", ui.panel())
        ui.open_notebook(notebook)
        output = ui.run_outputs().first
        expect(output).to_have_attribute("data-status", "finished", timeout=30_000)
        ui.output_toggle(output).click()
        expect(ui.chart_svgs(output)).to_be_visible(timeout=30_000)
        ui.screenshot(screenshots / "dark-output.png", ui.cell_of(output))
    finally:
        ui.set_theme("JupyterLab Light")
