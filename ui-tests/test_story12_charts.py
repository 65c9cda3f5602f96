"""Story 12: metric charts with smoothing, log scale, one dot for one point, no legend for
one run, and compare chips coloured as their curves."""

from __future__ import annotations

import re

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage
from playwright.sync_api import expect


def _rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_run_chart_options(lab: Lab, ui: LabPage, screenshots) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(
                name="chart-opts",
                metrics={
                    "loss": [10 ** (-i / 4) + 0.05 * (i % 3) for i in range(40)],
                    "final_acc": [0.91],  # logged once: a dot, not empty axes
                },
            )
        ],
    )
    ui.open_sidebar()
    view = ui.open_run("chart-opts")
    chart = ui.chart_svgs(view).first
    expect(chart).to_be_visible(timeout=30_000)
    # One run: its name is in the title, not in a legend; the single value is a dot.
    expect(ui.legends(chart)).to_have_count(0)
    expect(ui.point_marks(chart)).not_to_have_count(0)
    lines = ui.line_marks(chart).count()
    assert lines >= 1

    # Smoothing adds the smoothed curve over the faint raw one, in every panel.
    ui.set_smoothing(view, 0.8)
    expect(ui.line_marks(chart)).to_have_count(2 * lines)  # one more per panel
    # Log scale: the ticks of the loss span decades.
    ui.set_log_y(view, True)
    expect(ui.chart_toolbar(view)).to_be_visible()
    expect(ui.y_ticks(chart).filter(has_text=re.compile(r"^1e-\d+$")).first).to_be_visible()
    ui.screenshot(screenshots / "run-view-charts.png")

    # The wheel zooms (the x ticks change), a double-click puts the view back.
    ticks = ui.x_ticks(chart).all_text_contents()
    ui.zoom_chart(chart, 0.7, 0.5, -600)
    ui.wait_x_ticks(chart, ticks, same=False)
    ui.double_click_chart(chart, 0.7, 0.5)
    ui.wait_x_ticks(chart, ticks)


def test_compare_chips_coloured_as_their_lines(lab: Lab, ui: LabPage, screenshots) -> None:
    write_runs(
        lab.store,
        [
            FakeRun(name=f"colour-{i}", params={"lr": lr}, metrics={"loss": [1.0, 0.6 - lr, 0.4]})
            for i, lr in enumerate((0.1, 0.2))
        ],
    )
    ui.open_sidebar()
    expect(ui.row("colour-1")).to_be_visible()
    ui.select("colour-0", "colour-1")
    view = ui.compare_selected()
    chart = ui.compare_chart(view)
    expect(chart).to_be_visible(timeout=30_000)
    expect(ui.legends(chart)).to_have_count(1)
    chips = ui.run_chip_colors(view)
    strokes = [_rgb(c) for c in ui.line_colors(chart) if c.startswith("#")]
    assert len(chips) == 2 and chips[0] != chips[1], chips
    assert set(chips) == set(strokes), (chips, strokes)
    # Hovering a panel shows every run's value at that step in one tooltip.
    tooltip = ui.hover_chart(chart, 0.2, 0.3)
    expect(tooltip).to_contain_text("colour-0")
    expect(tooltip).to_contain_text("colour-1")
    ui.screenshot(screenshots / "compare-charts.png")
