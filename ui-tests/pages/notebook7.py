"""NotebookSevenPage: Notebook 7's one-notebook page with trackrun loaded."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from .lab import LabPage
from .selectors import (
    CELL,
    NB7_DOWN_PANEL,
    NB7_NOTEBOOK,
    PANEL,
    RUN_VIEW,
)


class NotebookSevenPage(LabPage):
    """Notebook 7's notebook page (one notebook per browser tab), with trackrun loaded."""

    def open_notebook(self, path: str) -> Locator:
        """Open ``path`` on its own page and wait for its kernel."""
        self.page.goto(f"{self.url}/notebooks/{path}?token={self.token}")
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
        notebook = self.page.locator(NB7_NOTEBOOK)
        expect(notebook.locator(CELL).first).to_be_visible(timeout=60_000)
        self.wait_for_kernel()
        return notebook

    def open_button(self, output: Locator) -> Locator:
        return output.locator(".trackrun-RunOutput-open")

    def run_view(self) -> Locator:
        """The run view, wherever the shell put it."""
        return self.page.locator(RUN_VIEW)

    def run_view_in_down_panel(self) -> Locator:
        return self.page.locator(f"{NB7_DOWN_PANEL} {RUN_VIEW}")

    def runs_panel(self) -> Locator:
        return self.page.locator(PANEL)
