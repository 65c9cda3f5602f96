"""Story 14: compare runs that differ only in their seed as each group's mean with a shaded
band, one standard deviation or the 95 % confidence interval of the mean."""

from __future__ import annotations

from pathlib import Path

from conftest import Lab
from fabricate import FakeRun, write_runs
from pages import LabPage, MediaPage
from playwright.sync_api import expect


def test_seed_groups_show_a_mean_with_a_band(lab: Lab, ui: LabPage, screenshots: Path) -> None:
    runs = [
        FakeRun(
            name=f"seeds-lr{lr}-s{seed}",
            params={"lr": lr, "seed": seed, "hidden": 32},
            # Nearly flat, so a band's height in pixels is mostly its width in values.
            metrics={"val_acc": [0.5 + lr + 0.002 * i + 0.03 * seed for i in range(6)]},
        )
        for lr in (0.1, 0.3)
        for seed in (0, 1, 2)
    ]
    write_runs(lab.store, runs)
    media = MediaPage(ui)
    ui.open_sidebar()
    ui.select(*[r.name for r in runs])
    view = ui.compare_selected()
    chart = ui.compare_chart(view)
    expect(chart).to_be_visible(timeout=30_000)
    # Each run first: six lines, no band.
    expect(media.seeds_choice(view)).to_have_value("runs")
    expect(ui.line_marks(chart)).to_have_count(6)
    expect(media.area_marks(chart)).to_have_count(0)

    media.show_seeds(view, "sd")
    expect(media.area_marks(chart)).to_have_count(2)
    expect(ui.line_marks(chart)).to_have_count(2)
    expect(chart).to_contain_text("lr=0.1 (3 seeds)")
    expect(chart).to_contain_text("lr=0.3 (3 seeds)")
    expect(chart).to_contain_text("mean ± sd")
    sd_height = media.area_marks(chart).first.bounding_box()
    ui.screenshot(screenshots / "compare-seeds.png", view.locator(".trackrun-CompareView-chart"))

    # The 95 % CI of 3 runs is wider than one sd (t = 4.30 over √3).
    media.show_seeds(view, "ci")
    expect(chart).to_contain_text("mean 95 % CI")
    ci_height = media.area_marks(chart).first.bounding_box()
    assert sd_height and ci_height and ci_height["height"] > sd_height["height"] * 1.3

    media.show_seeds(view, "runs")
    expect(ui.line_marks(chart)).to_have_count(6)

    media.show_seeds(view, "sd")
    media.set_theme("JupyterLab Dark")
    try:
        expect(media.area_marks(chart)).to_have_count(2)
        ui.screenshot(
            screenshots / "dark-compare-seeds.png", view.locator(".trackrun-CompareView-chart")
        )
    finally:
        media.set_theme("JupyterLab Light")
