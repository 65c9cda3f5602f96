"""NotebookMixin: a notebook in JupyterLab, its cells, and trackrun's live view in their outputs."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from .base import LabBase
from .selectors import (
    CELL,
    CELL_INPUT_TEXT,
    CELL_OF,
    CELL_OUTPUT,
    LOG_ANY_LINE,
    NOTEBOOK,
    OUTPUT,
    OUTPUT_CONNECTION,
    OUTPUT_LAST_LINE,
    OUTPUT_STATUS,
    OUTPUT_TOGGLE,
)


class NotebookMixin(LabBase):
    """The current notebook, its cells and the run outputs (trackrun's cell view) in them."""

    def open_notebook(self, path: str) -> Locator:
        self.command("docmanager:open", {"path": path})
        notebook = self.page.locator(NOTEBOOK)
        expect(notebook.locator(CELL).first).to_be_visible()
        self.wait_for_kernel()
        return notebook

    def wait_for_kernel(self) -> None:
        self.page.wait_for_function(
            """() => {
              const nb = window.jupyterapp.shell.currentWidget;
              const kernel = nb && nb.sessionContext && nb.sessionContext.session
                && nb.sessionContext.session.kernel;
              return kernel && kernel.status === 'idle';
            }""",
            timeout=60_000,
        )

    def run_all_cells(self) -> None:
        self.command("notebook:run-all-cells")

    def save(self) -> None:
        self.command("docmanager:save")
        self.page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
        )

    def notebooks(self) -> Locator:
        """Notebook panels shown in the main area."""
        return self.page.locator(NOTEBOOK)

    def cells(self) -> Locator:
        return self.page.locator(NOTEBOOK).locator(CELL)

    def cell_with_source(self, text: str) -> Locator:
        """The cells of the current notebook whose input contains ``text``."""
        return self.cells().filter(has=self.page.locator(CELL_INPUT_TEXT, has_text=text))

    def cell_output(self, cell: Locator) -> Locator:
        return cell.locator(CELL_OUTPUT)

    # -- outputs ------------------------------------------------------------------------
    def run_outputs(self) -> Locator:
        return self.page.locator(NOTEBOOK).locator(OUTPUT)

    def output_status(self, output: Locator) -> Locator:
        return output.locator(OUTPUT_STATUS)

    def output_last_line(self, output: Locator) -> Locator:
        return output.locator(OUTPUT_LAST_LINE)

    def output_toggle(self, output: Locator) -> Locator:
        return output.locator(OUTPUT_TOGGLE)

    def output_log_lines(self, output: Locator) -> Locator:
        """The lines of the cell view's expanded log."""
        return output.locator(LOG_ANY_LINE)

    def output_connection(self, output: Locator) -> Locator:
        """The cell view's "connection lost" note."""
        return output.locator(OUTPUT_CONNECTION)

    def cell_of(self, output: Locator) -> Locator:
        """The notebook cell that holds ``output``."""
        return output.locator(CELL_OF)
