"""RunsPanelMixin: the sidebar's runs table, columns, filter, selection, context menu."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, expect

from .base import LabBase
from .selectors import (
    BANNER,
    COLUMN_CHOICE,
    COLUMN_CHOOSER,
    COLUMNS_BUTTON,
    COMPARE_BUTTON,
    COMPARE_VIEW,
    CONTEXT_MENU,
    EMPTY_STATE,
    FILTER,
    FILTER_ERROR,
    HEADER_CELL,
    IMAGE,
    MENU_ITEM,
    NUMBER_CELL,
    PANEL,
    PANEL_FOOTER,
    PANEL_STALE,
    RESIZE_GRIP,
    ROW,
    ROW_NAME,
    RUN_VIEW,
    SIDEBAR_TAB,
    SPLIT_HANDLES,
    STATUS_ITEM,
    TABLE,
    TABLE_STALE,
)


class RunsPanelMixin(LabBase):
    """The runs panel: opening it, rows and columns, filtering, selecting, the views it opens."""

    def open_sidebar(self) -> Locator:
        panel = self.page.locator(PANEL)
        if not panel.is_visible():
            self.page.locator(SIDEBAR_TAB).click()
        expect(panel).to_be_visible()
        return panel

    def widen_sidebar(self, width: int) -> None:
        """Drag the left panel's edge (a split handle) so the sidebar is ``width`` px wide."""
        panel = self.page.locator(PANEL).bounding_box()
        assert panel is not None
        edge = panel["x"] + panel["width"]
        handles = self.page.locator(SPLIT_HANDLES)
        for i in range(handles.count()):
            box = handles.nth(i).bounding_box()
            if box and box["height"] > 100 and abs(box["x"] - edge) < 12:
                y = box["y"] + box["height"] / 2
                self.page.mouse.move(box["x"] + box["width"] / 2, y)
                self.page.mouse.down()
                self.page.mouse.move(panel["x"] + width, y, steps=5)
                self.page.mouse.up()
                return
        raise AssertionError("no split handle at the sidebar's edge")

    def panel(self) -> Locator:
        return self.page.locator(PANEL)

    def panel_images(self) -> Locator:
        """Images in the runs panel (run data must never become one)."""
        return self.panel().locator(IMAGE)

    def footer(self) -> Locator:
        return self.panel().locator(PANEL_FOOTER)

    def table(self) -> Locator:
        return self.panel().locator(TABLE)

    def stale_note(self) -> Locator:
        """The note shown while the rows answer an earlier filter than the one typed."""
        return self.panel().locator(PANEL_STALE)

    def stale_table(self) -> Locator:
        return self.panel().locator(TABLE_STALE)

    def number_cells(self, name: str) -> Locator:
        """The params/metrics cells of the run called ``name``."""
        return self.row(name).locator(NUMBER_CELL)

    def header_cells(self) -> Locator:
        return self.panel().locator(HEADER_CELL)

    def header(self, column: str) -> Locator:
        return self.panel().locator(f'{HEADER_CELL}[data-column="{column}"]')

    def column_order(self) -> list[str]:
        """The table's columns, left to right (``params.lr``, ``name``...)."""
        return [c.get_attribute("data-column") or "" for c in self.header_cells().all()]

    def toggle_column(self, column: str) -> None:
        """Show or hide ``column`` through the column chooser."""
        self.panel().locator(COLUMNS_BUTTON).click()
        chooser = self.panel().locator(COLUMN_CHOOSER)
        expect(chooser).to_be_visible()
        exact = re.compile(f"^{re.escape(column)}$")
        chooser.locator(COLUMN_CHOICE).filter(has_text=exact).locator("input").click()
        self.page.keyboard.press("Escape")
        expect(chooser).to_have_count(0)

    def resize_column(self, column: str, dx: int) -> None:
        """Drag the right edge of ``column``'s header by ``dx`` px."""
        box = self.header(column).locator(RESIZE_GRIP).bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx, y, steps=4)
        self.page.mouse.up()

    def expect_workspace_saved(self, text: str) -> Any:
        """A context in which JupyterLab must save its workspace with ``text`` in it (the
        state database lives in the workspace)."""
        return self.page.expect_request(
            lambda r: (
                r.method == "PUT" and "/api/workspaces" in r.url and text in (r.post_data or "")
            ),
        )

    def move_column(self, column: str, before: str) -> None:
        """Drag ``column``'s header onto ``before``'s: it moves just before it."""
        self.header(column).drag_to(self.header(before))

    def rows(self) -> Locator:
        return self.page.locator(PANEL).locator(ROW)

    def row(self, name: str) -> Locator:
        """The table row of the run called exactly ``name``."""
        exact = re.compile(f"^{re.escape(name)}$")
        return self.rows().filter(has=self.page.locator(ROW_NAME, has_text=exact))

    def row_status(self, name: str) -> str | None:
        return self.row(name).get_attribute("data-status")

    def expect_row_status(self, name: str, status: str, timeout: float = 120_000) -> None:
        expect(self.row(name)).to_have_attribute("data-status", status, timeout=timeout)

    def filter_box(self) -> Locator:
        return self.panel().locator(FILTER)

    def filter(self, text: str) -> None:
        box = self.page.locator(PANEL).locator(FILTER)
        box.fill(text)
        box.press("Enter")

    def filter_error(self) -> Locator:
        return self.page.locator(PANEL).locator(FILTER_ERROR)

    def sort_by(self, column: str) -> None:
        self.page.locator(PANEL).locator(f'{HEADER_CELL}[data-column="{column}"]').click()

    def select(self, *names: str) -> None:
        """Click the first run, ctrl-click the others (on their names, as a person would)."""
        self.row(names[0]).locator(ROW_NAME).click()
        for name in names[1:]:
            self.row(name).locator(ROW_NAME).click(modifiers=["Control"])

    def context_menu(self, name: str, item: str) -> None:
        """Right-click the run's row and choose ``item`` from JupyterLab's context menu."""
        self.right_click(name)
        self.page.locator(CONTEXT_MENU).locator(MENU_ITEM, has_text=item).first.click()

    def right_click(self, name: str) -> Locator:
        """Right-click the run's row; returns the context menu it opened."""
        self.row(name).locator(ROW_NAME).click(button="right")
        menu = self.page.locator(CONTEXT_MENU)
        expect(menu).to_be_visible()
        return menu

    def close_menu(self) -> None:
        self.page.keyboard.press("Escape")
        expect(self.page.locator(CONTEXT_MENU)).to_have_count(0)

    def compare_button(self) -> Locator:
        return self.panel().locator(COMPARE_BUTTON)

    def open_run(self, name: str) -> Locator:
        self.row(name).locator(ROW_NAME).dblclick()
        view = self.page.locator(f"{RUN_VIEW}:visible")
        expect(view).to_be_visible()
        return view

    def compare_selected(self) -> Locator:
        self.page.locator(PANEL).locator(COMPARE_BUTTON).click()
        view = self.page.locator(f"{COMPARE_VIEW}:visible")
        expect(view).to_be_visible()
        return view

    def empty_state(self) -> Locator:
        return self.page.locator(PANEL).locator(EMPTY_STATE)

    def banner(self) -> Locator:
        return self.page.locator(PANEL).locator(BANNER)

    def status_item(self) -> Locator:
        return self.page.locator(STATUS_ITEM)
