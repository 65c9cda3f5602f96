"""ChartsMixin: metric charts (marks, axes, tooltip, toolbar) and the compare view's sections."""

from __future__ import annotations

from playwright.sync_api import Locator

from .base import LabBase
from .selectors import (
    BEST_VALUE,
    CHART_LOG_Y,
    CHART_SMOOTHING,
    CHART_SVG,
    CHART_TOOLBAR,
    CHART_TOOLTIP,
    CHART_X,
    CHART_X_TICKS,
    CHART_Y_TICKS,
    COMPARE_CHART,
    COMPARE_CODE,
    COMPARE_PARAMS,
    COMPARE_SUMMARY,
    DIFF_CHANGED,
    LEGEND,
    LINE_MARK,
    POINT_MARK,
    RUN_CHIP_SWATCH,
)


class ChartsMixin(LabBase):
    """Metric charts wherever they are shown, and the compare view around them."""

    def chart_svgs(self, scope: Locator) -> Locator:
        return scope.locator(CHART_SVG)

    def line_marks(self, chart: Locator) -> Locator:
        return chart.locator(LINE_MARK)

    def point_marks(self, chart: Locator) -> Locator:
        return chart.locator(POINT_MARK)

    def legends(self, chart: Locator) -> Locator:
        return chart.locator(LEGEND)

    def hover_chart(self, chart: Locator, fx: float, fy: float) -> Locator:
        """Move the pointer to a fraction (``fx``, ``fy``) of the chart; returns the tooltip."""
        box = chart.bounding_box()
        assert box is not None
        self.page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=3)
        return self.page.locator(CHART_TOOLTIP)

    def y_ticks(self, chart: Locator) -> Locator:
        """The y axes' labels of a chart."""
        return chart.locator(CHART_Y_TICKS)

    def x_ticks(self, chart: Locator) -> Locator:
        """The x axes' labels and titles of a chart."""
        return chart.locator(CHART_X_TICKS)

    def wait_x_ticks(self, chart: Locator, ticks: list[str], same: bool = True) -> None:
        """Wait until the chart's x labels are ``ticks`` (in any order), or differ from them."""
        self.page.wait_for_function(
            "([c, sel, want, same]) => ([...c.querySelectorAll(sel)]"
            ".map(t => t.textContent).sort().join('|') === want) === same",
            arg=[chart.element_handle(), CHART_X_TICKS, "|".join(sorted(ticks)), same],
        )

    def zoom_chart(self, chart: Locator, fx: float, fy: float, wheel: float) -> None:
        """Turn the mouse wheel over a point of the chart (negative: zoom in)."""
        self.hover_chart(chart, fx, fy)
        self.page.mouse.wheel(0, wheel)

    def double_click_chart(self, chart: Locator, fx: float, fy: float) -> None:
        box = chart.bounding_box()
        assert box is not None
        self.page.mouse.dblclick(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)

    def chart_toolbar(self, scope: Locator) -> Locator:
        return scope.locator(CHART_TOOLBAR)

    def set_smoothing(self, scope: Locator, value: float) -> None:
        self.chart_toolbar(scope).locator(CHART_SMOOTHING).fill(str(value))

    def set_log_y(self, scope: Locator, on: bool) -> None:
        box = self.chart_toolbar(scope).locator(CHART_LOG_Y)
        box.check() if on else box.uncheck()

    def chart_x_axis(self, scope: Locator) -> Locator:
        return self.chart_toolbar(scope).locator(CHART_X)

    def run_chip_colors(self, view: Locator) -> list[str]:
        """Background colours of the compare view's run chips' swatches, in order."""
        return [
            s.evaluate("n => getComputedStyle(n).backgroundColor")
            for s in view.locator(RUN_CHIP_SWATCH).all()
        ]

    def line_colors(self, chart: Locator) -> list[str]:
        """Stroke colours of the chart's line marks (each run's curve)."""
        return [m.get_attribute("stroke") or "" for m in self.line_marks(chart).all()]

    # -- the compare view -----------------------------------------------------------------
    def compare_params(self, view: Locator) -> Locator:
        return view.locator(COMPARE_PARAMS)

    def compare_summary(self, view: Locator) -> Locator:
        return view.locator(COMPARE_SUMMARY)

    def compare_chart(self, view: Locator) -> Locator:
        return self.chart_svgs(view.locator(COMPARE_CHART))

    def compare_code_changes(self, view: Locator) -> Locator:
        """Added or removed lines of the compare view's code diff."""
        return view.locator(COMPARE_CODE).locator(DIFF_CHANGED)

    @staticmethod
    def field_row(table: Locator, field: str) -> Locator:
        """The row of ``field`` (a param or metric) in a compare table."""
        return table.locator(f'tr[data-field="{field}"]')

    @staticmethod
    def best_value(table: Locator, field: str) -> Locator:
        return table.locator(f'tr[data-field="{field}"] {BEST_VALUE}')
