"""PanelTablePage: the panel's trash, filter completions, main-area table, request counts."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from .lab import LabPage
from .selectors import (
    COMPLETION,
    COMPLETION_ACTIVE,
    COMPLETION_LABEL,
    COMPLETIONS,
    GROUP_HEADER,
    OPEN_TABLE_BUTTON,
    ROW,
    ROW_NAME,
    SPLASH,
    TABLE_VIEW,
    TABLE_VIEW_GROUP_BY,
    TRASH,
    TRASH_NAME,
    TRASH_PURGE,
    TRASH_RESTORE,
    TRASH_ROW,
    TRASH_TOGGLE,
)

#: The run list's and the change feed's REST requests (watched to count them).
LIST_REQUEST = re.compile(r"/trackrun/api/runs(\?|$)")
FEED_REQUEST = re.compile(r"/trackrun/api/changes(\?|$)")


class PanelTablePage:
    """The runs panel's trash section, filter completions and request counts."""

    def __init__(self, lab_page: LabPage) -> None:
        self.ui = lab_page
        self.page = lab_page.page

    def set_theme(self, name: str) -> None:
        """Switch the theme and wait until JupyterLab's splash (shown meanwhile) is gone."""
        self.ui.set_theme(name)
        expect(self.page.locator(SPLASH)).to_have_count(0, timeout=30_000)

    def watch_requests(self, pattern: re.Pattern[str]) -> list[str]:
        """URLs of the GET requests matching ``pattern`` made from now on (filled live)."""
        seen: list[str] = []
        self.page.on(
            "request",
            lambda r: seen.append(r.url) if r.method == "GET" and pattern.search(r.url) else None,
        )
        return seen

    def list_requests(self) -> list[str]:
        """``GET trackrun/api/runs`` (the run list) requests from now on."""
        return self.watch_requests(LIST_REQUEST)

    def feed_requests(self) -> list[str]:
        """``GET trackrun/api/changes`` (the change feed) requests from now on."""
        return self.watch_requests(FEED_REQUEST)

    def metric_cell(self, name: str, metric: str) -> Locator:
        """The cell of column ``metrics.METRIC`` in the row of the run ``name`` (the column is
        shown first if the defaults left it out)."""
        if f"metrics.{metric}" not in self.ui.column_order():
            self.ui.toggle_column(f"metrics.{metric}")
        columns = self.ui.column_order()
        index = columns.index(f"metrics.{metric}")
        return self.ui.row(name).locator(":scope > *").nth(index)

    # -- the trash --------------------------------------------------------------------------
    def trash(self) -> Locator:
        return self.ui.panel().locator(TRASH)

    def open_trash(self) -> Locator:
        """Expand the Trash section (if collapsed); returns it."""
        toggle = self.trash().locator(TRASH_TOGGLE)
        if toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        return self.trash()

    def trash_row(self, name: str) -> Locator:
        exact = re.compile(f"^{re.escape(name)}$")
        return (
            self.trash()
            .locator(TRASH_ROW)
            .filter(has=self.page.locator(TRASH_NAME, has_text=exact))
        )

    def trash_rows(self) -> Locator:
        return self.trash().locator(TRASH_ROW)

    def restore(self, name: str) -> None:
        self.trash_row(name).locator(TRASH_RESTORE).click()

    def delete_forever(self, name: str) -> None:
        """Click "Delete forever" on the trashed run (its confirmation dialog opens)."""
        self.trash_row(name).locator(TRASH_PURGE).click()
        expect(self.ui.dialog()).to_be_visible()

    # -- filter completions -----------------------------------------------------------------
    def completions(self) -> Locator:
        return self.ui.panel().locator(COMPLETIONS)

    def completion_items(self) -> Locator:
        return self.completions().locator(COMPLETION)

    def completion_labels(self) -> Locator:
        """The names offered (without their kind)."""
        return self.completions().locator(COMPLETION_LABEL)

    def active_completion(self) -> Locator:
        return self.completions().locator(COMPLETION_ACTIVE)

    def type_filter(self, text: str) -> None:
        """Type into the filter box key by key (as a person would; no Enter)."""
        box = self.ui.filter_box()
        box.click()
        box.press_sequentially(text, delay=30)

    # -- the table in the main area ---------------------------------------------------------
    def open_table(self) -> Locator:
        """Click the sidebar's "Open as table" button; returns the main-area table view."""
        self.ui.panel().locator(OPEN_TABLE_BUTTON).click()
        view = self.page.locator(f"{TABLE_VIEW}:visible")
        expect(view).to_be_visible()
        return view

    def group_by(self, view: Locator, by: str) -> None:
        view.locator(TABLE_VIEW_GROUP_BY).select_option(by)

    def table_rows(self, view: Locator) -> Locator:
        return view.locator(ROW)

    def group_headers(self, view: Locator) -> Locator:
        return view.locator(GROUP_HEADER)

    def group_lines(self, view: Locator) -> list[str]:
        """The table's lines top to bottom: ``# LABEL`` for a group header, else the run name."""
        lines = view.locator(f"{GROUP_HEADER}, {ROW}")
        out = []
        for i in range(lines.count()):
            line = lines.nth(i)
            group = line.get_attribute("data-group")
            out.append(f"# {group}" if group is not None else line.locator(ROW_NAME).inner_text())
        return out
