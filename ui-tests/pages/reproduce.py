"""ReproducePage: reproducing a run from the run view, its notification and Reproduction line."""

from __future__ import annotations

from playwright.sync_api import Locator

from .lab import LabPage
from .selectors import (
    COMPARE_VIEW,
    MENU_ITEM,
    REPRODUCTION_COMPARE_LINK,
    REPRODUCTION_LINE,
    REPRODUCTION_RUN_LINK,
    REPRODUCTION_TEXT,
    RUN_VIEW_ID,
    RUN_VIEW_REPRODUCE,
    TOAST,
    TOAST_BUTTON,
)


class ReproducePage:
    """The run view's "Reproduce" button, the notification it raises, and the view's
    Reproduction line (state, verdict, the other run)."""

    def __init__(self, lab_page: LabPage) -> None:
        self.ui = lab_page
        self.page = lab_page.page

    def button(self) -> Locator:
        return self.ui.run_view().locator(RUN_VIEW_REPRODUCE)

    def run_id(self) -> Locator:
        """The id shown in the visible run view's header."""
        return self.ui.run_view().locator(RUN_VIEW_ID)

    def line(self) -> Locator:
        """The Reproduction line; ``data-state`` is running, failed or done, ``data-verdict``
        the verdict once done."""
        return self.ui.run_view().locator(REPRODUCTION_LINE)

    def line_text(self) -> Locator:
        return self.line().locator(REPRODUCTION_TEXT)

    def other_run(self) -> Locator:
        """The line's link to the other run of the verdict."""
        return self.line().locator(REPRODUCTION_RUN_LINK)

    def compare_link(self) -> Locator:
        return self.line().locator(REPRODUCTION_COMPARE_LINK)

    def toast(self, text: str) -> Locator:
        """The notification whose message contains ``text``."""
        return self.page.locator(TOAST, has_text=text)

    def toast_action(self, text: str, label: str) -> Locator:
        return self.toast(text).locator(TOAST_BUTTON, has_text=label)

    def compare_view(self) -> Locator:
        return self.page.locator(f"{COMPARE_VIEW}:visible")

    def menu_item(self, menu: Locator) -> Locator:
        """The "Reproduce Run" item of an open context menu."""
        return menu.locator(MENU_ITEM, has_text="Reproduce Run")
