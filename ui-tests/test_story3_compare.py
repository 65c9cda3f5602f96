"""Story 3: select two finished runs and compare them: the differing param and both curves."""

from __future__ import annotations

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage
from playwright.sync_api import expect

XSS_NAME = "<img src=x onerror=alert(1)>"


def test_compare_two_runs(lab: Lab, ui: LabPage, screenshots) -> None:
    code = "for epoch in range(epochs):\n    trackrun.log(val_acc=train(lr), step=epoch)\n"
    write_runs(
        lab.store,
        [
            FakeRun(
                name="cmp-lr-small",
                params={"lr": 0.01, "epochs": 5, "hidden": 32},
                metrics={"val_acc": [0.5, 0.7, 0.8, 0.85, 0.9], "loss": [1.2, 0.8, 0.5, 0.4, 0.3]},
                code=code,
            ),
            FakeRun(
                name="cmp-lr-large",
                params={"lr": 0.1, "epochs": 5, "hidden": 32},
                metrics={
                    "val_acc": [0.6, 0.75, 0.78, 0.8, 0.81],
                    "loss": [1.0, 0.7, 0.6, 0.55, 0.5],
                },
                code=code.replace("train(lr)", "train(lr, momentum=0.9)"),
            ),
            # Run data is text: a name, tag, param and log line that look like HTML stay text.
            FakeRun(
                name=XSS_NAME,
                params={"note": "<b>bold?</b>"},
                tags=["<script>alert(2)</script>"],
                log="<img src=y onerror=alert(3)>\n",
            ),
        ],
    )
    ui.open_sidebar()
    expect(ui.row("cmp-lr-small")).to_be_visible()
    expect(ui.row("cmp-lr-large")).to_be_visible()

    # Names are shown as the characters they are; nothing in them ran.
    expect(ui.row(XSS_NAME)).to_be_visible()
    assert ui.panel_images().count() == 0
    assert not [e for e in ui.errors if "alert" in e or "dialog" in e]

    ui.select("cmp-lr-small", "cmp-lr-large")
    expect(ui.row("cmp-lr-small")).to_have_attribute("aria-selected", "true")
    expect(ui.row("cmp-lr-large")).to_have_attribute("aria-selected", "true")
    view = ui.compare_selected()

    params = ui.compare_params(view)
    expect(ui.field_row(params, "lr")).to_be_visible()
    expect(ui.field_row(params, "lr")).to_contain_text("0.01")
    expect(ui.field_row(params, "lr")).to_contain_text("0.1")
    # Only differing params by default; "show all" brings the shared ones.
    expect(ui.field_row(params, "hidden")).to_have_count(0)
    params.get_by_label("show all").check()
    expect(ui.field_row(params, "hidden")).to_be_visible()
    params.get_by_label("show all").uncheck()

    # Best values are marked: higher val_acc, lower loss.
    summary = ui.compare_summary(view)
    expect(ui.best_value(summary, "val_acc")).to_have_text("0.9")
    expect(ui.best_value(summary, "loss")).to_have_text("0.3")

    # Both runs' curves: the overlaid chart's legend names both.
    chart = ui.compare_chart(view)
    expect(chart).to_be_visible(timeout=30_000)
    expect(chart).to_contain_text("cmp-lr-small")
    expect(chart).to_contain_text("cmp-lr-large")
    assert ui.line_marks(chart).count() >= 2

    # The code diff shows the changed line, coloured as added or removed (the order of the
    # two runs follows the table's).
    changed = ui.compare_code_changes(view)
    expect(changed.filter(has_text="momentum=0.9")).to_have_count(1)

    ui.screenshot(screenshots / "compare.png")

    # The sidebar, widened as a user would to see the params and metrics columns.
    ui.widen_sidebar(640)
    ui.screenshot(screenshots / "sidebar.png", ui.panel())
