"""SweepsPage: a sweep's line in the runs table (progress, best value, its runs), its context
menu, and the compare view of a whole sweep."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from .lab import LabPage
from .selectors import (
    CHART_SVG,
    COMMAND_PALETTE_INPUT,
    COMMAND_PALETTE_ITEM,
    CONTEXT_MENU,
    DIALOG_SELECT,
    MENU_ITEM,
    MENU_ITEM_LABEL,
    SWEEP_LINE,
    SWEEP_LINE_BEST,
    SWEEP_LINE_COUNTS,
    SWEEP_LINE_NAME,
    SWEEP_VIEW,
    SWEEP_VIEW_GROUP_ROW,
    SWEEP_VIEW_GROUPS,
    SWEEP_VIEW_PARAMS,
    SWEEP_VIEW_SIGNIFICANCE,
)


class SweepsPage:
    """Sweeps in the runs panel and their compare view, on a LabPage (``SweepsPage(ui)``)."""

    def __init__(self, lab_page: LabPage) -> None:
        self.ui = lab_page
        self.page = lab_page.page

    # -- the sweep's line -----------------------------------------------------------------
    def lines(self) -> Locator:
        """Every sweep line drawn in the runs panel."""
        return self.ui.panel().locator(SWEEP_LINE)

    def line(self, name: str) -> Locator:
        return self.ui.panel().locator(f'{SWEEP_LINE}[data-sweep-name="{name}"]')

    def counts(self, name: str) -> Locator:
        """The line's progress: ``16/18 done · 1 queued · 1 failed``."""
        return self.line(name).locator(SWEEP_LINE_COUNTS)

    def best(self, name: str) -> Locator:
        """The line's best value so far: ``best val_acc 0.87``."""
        return self.line(name).locator(SWEEP_LINE_BEST)

    def focus(self, name: str) -> None:
        """Click the sweep's line (selecting it) so that keys go to the table."""
        self.line(name).locator(SWEEP_LINE_NAME).click()
        expect(self.line(name)).to_have_attribute("aria-selected", "true")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def menu(self, name: str, item: str) -> None:
        """Right-click the sweep's line and choose ``item`` from the context menu."""
        self.line(name).locator(SWEEP_LINE_NAME).click(button="right")
        menu = self.page.locator(CONTEXT_MENU)
        expect(menu).to_be_visible()
        menu.locator(MENU_ITEM, has_text=item).first.click()

    def menu_items(self, name: str) -> list[str]:
        """The labels of the sweep line's context menu, JupyterLab's own included (it is
        closed again)."""
        self.line(name).locator(SWEEP_LINE_NAME).click(button="right")
        menu = self.page.locator(CONTEXT_MENU)
        expect(menu).to_be_visible()
        texts = menu.locator(MENU_ITEM).locator(MENU_ITEM_LABEL).all_inner_texts()
        labels = [t.strip() for t in texts if t.strip()]
        self.ui.close_menu()
        return labels

    # -- the compare view of a sweep ------------------------------------------------------
    def view(self) -> Locator:
        view = self.page.locator(f"{SWEEP_VIEW}:visible")
        expect(view).to_be_visible()
        return view

    def significance(self, view: Locator) -> Locator:
        return view.locator(SWEEP_VIEW_SIGNIFICANCE)

    def params_chart(self, view: Locator) -> Locator:
        """The drawn params-against-metric chart (its SVG marks)."""
        return view.locator(SWEEP_VIEW_PARAMS).locator(CHART_SVG)

    def groups_chart(self, view: Locator) -> Locator:
        """The drawn seed groups chart (mean ± sd)."""
        return view.locator(SWEEP_VIEW_GROUPS).locator(CHART_SVG)

    def group_rows(self, view: Locator) -> Locator:
        return view.locator(SWEEP_VIEW_GROUP_ROW)

    def compare_from_palette(self, name: str) -> None:
        """Run "Compare a Sweep…" from the command palette and pick ``name``."""
        self.page.keyboard.press("Control+Shift+C")
        box = self.page.locator(COMMAND_PALETTE_INPUT)
        expect(box).to_be_visible()
        box.fill("Compare a Sweep")
        self.page.locator(COMMAND_PALETTE_ITEM, has_text="Compare a Sweep").first.click()
        choice = self.page.locator(DIALOG_SELECT)
        expect(choice).to_be_visible()
        label = next(t for t in choice.locator("option").all_inner_texts() if t.startswith(name))
        choice.select_option(label=label)
        self.ui.dialog_button("OK").click()
