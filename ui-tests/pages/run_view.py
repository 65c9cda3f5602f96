"""RunViewMixin: the run view in the main area: its header, tabs, attempts and log."""

from __future__ import annotations

from playwright.sync_api import Locator

from .base import LabBase
from .selectors import (
    ANSI_RED,
    ATTEMPTS_ROW,
    LOAD_EARLIER,
    LOG_ANY_LINE,
    LOG_LINE,
    LOG_TEXT,
    PREVIEW_TAB,
    RUN_VIEW,
    RUN_VIEW_CHIP,
    RUN_VIEW_NAME,
    RUN_VIEW_PARAMS,
    RUN_VIEW_PIN,
    RUN_VIEW_STATUS,
    RUN_VIEW_STATUS_DETAIL,
    TAB_BUTTON,
)


class RunViewMixin(LabBase):
    """The visible run view (one run's page in the main area) and its log."""

    def run_view(self) -> Locator:
        return self.page.locator(f"{RUN_VIEW}:visible")

    def run_view_tab(self, tab: str) -> None:
        self.run_view().locator(f'{TAB_BUTTON}[data-tab="{tab}"]').click()

    def run_view_name(self) -> Locator:
        return self.run_view().locator(RUN_VIEW_NAME)

    def run_view_params(self) -> Locator:
        return self.run_view().locator(RUN_VIEW_PARAMS)

    def run_view_dropped(self) -> Locator:
        """The run view's warning that records were dropped."""
        return self.run_view().locator(".trackrun-RunView-dropped")

    def run_view_pin(self) -> Locator:
        """The "Keep open" button of a preview run view."""
        return self.run_view().locator(RUN_VIEW_PIN)

    def run_view_status_detail(self) -> Locator:
        return self.run_view().locator(RUN_VIEW_STATUS_DETAIL)

    def run_view_chips(self) -> Locator:
        return self.run_view().locator(RUN_VIEW_CHIP)

    def attempts_rows(self) -> Locator:
        return self.run_view().locator(ATTEMPTS_ROW)

    def preview_tabs(self) -> Locator:
        return self.page.locator(PREVIEW_TAB)

    def log(self) -> Locator:
        return self.run_view().locator(LOG_TEXT)

    def log_line(self, text: str) -> Locator:
        """Log lines (in the run view) that contain ``text``."""
        return self.log().locator(LOG_ANY_LINE, has_text=text)

    def log_red_text(self) -> Locator:
        return self.log().locator(ANSI_RED)

    def log_elements(self, tag: str) -> Locator:
        """Elements named ``tag`` inside the log (text that looks like HTML must not be)."""
        return self.log().locator(tag)

    def load_earlier(self) -> Locator:
        return self.run_view().locator(LOAD_EARLIER)

    def run_view_status(self) -> Locator:
        return self.run_view().locator(RUN_VIEW_STATUS)

    def log_lines(self) -> Locator:
        return self.run_view().locator(LOG_LINE)
