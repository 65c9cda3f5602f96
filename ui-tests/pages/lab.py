"""LabPage: JupyterLab with trackrun, composed of the panel, run view, notebook and chart parts."""

from __future__ import annotations

import contextlib
from typing import Any

from playwright.sync_api import Locator, expect

from .charts import ChartsMixin
from .notebook import NotebookMixin
from .run_view import RunViewMixin
from .runs_panel import RunsPanelMixin
from .selectors import (
    DIALOG,
    DIALOG_BUTTON,
    MAIN_TAB,
    SIDEBAR_TAB,
    TOAST,
    TOAST_NO,
)


class LabPage(RunsPanelMixin, RunViewMixin, NotebookMixin, ChartsMixin):
    """JupyterLab in one browser page, with trackrun's panel."""

    # -- JupyterLab ---------------------------------------------------------------------
    def login(self, path: str = "/lab") -> None:
        """Open JupyterLab with the token and an empty workspace (no tabs left over from
        other tests), and wait until the trackrun tab is there."""
        self.page.goto(f"{self.url}{path}?reset&token={self.token}")
        self.wait_until_restored()
        self.dismiss_news()

    def wait_until_restored(self) -> None:
        """Wait until JupyterLab has loaded and restored its layout (after a (re)load)."""
        expect(self.page.locator(SIDEBAR_TAB)).to_be_visible(timeout=60_000)
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
        self.page.evaluate("() => window.jupyterapp.restored.then(() => null)")

    def dismiss_news(self) -> None:
        """Answer the "Jupyter news?" toast, which appears whatever news_url says."""
        button = self.page.locator(TOAST_NO)
        with contextlib.suppress(Exception):  # the toast did not show this time
            button.first.click(timeout=5000)

    def set_theme(self, name: str) -> None:
        """Switch theme ("JupyterLab Dark" / "JupyterLab Light") and wait until applied."""
        self.command("apputils:change-theme", {"theme": name})
        light = "false" if "Dark" in name else "true"
        self.page.wait_for_function(
            f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000
        )

    def reload(self) -> None:
        """Load JupyterLab again keeping its workspace (login's ``?reset`` would clear it)."""
        self.page.goto(f"{self.url}/lab?token={self.token}")
        self.wait_until_restored()
        self.dismiss_news()

    def main_tabs(self, label: str | None = None) -> Locator:
        """Tabs of the main area, those whose label contains ``label`` when given."""
        tabs = self.page.locator(MAIN_TAB)
        return tabs if label is None else tabs.filter(has_text=label)

    # -- dialogs and notifications ----------------------------------------------------------
    def dialog(self) -> Locator:
        return self.page.locator(DIALOG)

    def rerun_field(self, param: str) -> Locator:
        """The rerun dialog's text field of ``param``."""
        return self.dialog().locator(f"input#trackrun-rerun-{param}")

    def dialog_button(self, label: str) -> Locator:
        return self.dialog().locator(DIALOG_BUTTON, has_text=label)

    def focused_dialog_button(self) -> Locator:
        return self.dialog().locator(f"{DIALOG_BUTTON}:focus")

    def toasts(self) -> Locator:
        return self.page.locator(TOAST)

    # -- screenshots ----------------------------------------------------------------------
    def screenshot(self, path: Any, locator: Locator | None = None) -> None:
        # Wait for fonts and the last frame so the picture is what a person sees.
        self.page.evaluate(
            "() => document.fonts.ready.then(() => new Promise(r =>"
            " requestAnimationFrame(() => requestAnimationFrame(r))))"
        )
        if locator is None:
            self.page.screenshot(path=str(path))
        else:
            locator.screenshot(path=str(path))
