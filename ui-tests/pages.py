"""The page object of the UI tests: every selector and every JupyterLab gesture they use."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

# Selectors: the only place tests name DOM structure.
SIDEBAR_TAB = '.jp-SideBar [data-id="trackrun-runs"]'
PANEL = "#trackrun-runs"
FILTER = ".trackrun-FilterBox-input"
FILTER_ERROR = ".trackrun-FilterBox-error"
ROW = ".trackrun-RunsTable-row"
ROW_NAME = ".trackrun-col-name"
HEADER_CELL = ".trackrun-RunsTable-th"
TABLE = ".trackrun-RunsTable"
COMPARE_BUTTON = ".trackrun-RunsPanel-compare"
EMPTY_STATE = ".trackrun-EmptyState"
BANNER = ".trackrun-Banner"
CONTEXT_MENU = ".lm-Menu"
MENU_ITEM = ".lm-Menu-item"
RUN_VIEW = ".trackrun-RunView"
RUN_VIEW_STATUS = ".trackrun-RunView-header .trackrun-StatusBadge"
RUN_VIEW_TAB = ".trackrun-RunView .trackrun-Tabs-tab"
LOG_LINE = ".trackrun-LogText-lines > .trackrun-LogText-line"
COMPARE_VIEW = ".trackrun-CompareView"
CHART_SVG = ".trackrun-MetricChart svg.marks"
OUTPUT = ".trackrun-RunOutput-content"
STATUS_ITEM = ".trackrun-RunningStatus-content"
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELL = ".jp-Cell"
CELL_INPUT_TEXT = ".jp-InputArea-editor .cm-content"
CELL_OUTPUT = ".jp-OutputArea"
SPLIT_HANDLES = "#jp-main-split-panel > .lm-SplitPanel-handle"
TOAST_NO = ".jp-toast-button:has-text('No')"
# The runs panel's parts.
COLUMNS_BUTTON = ".trackrun-RunsPanel-columns"
COLUMN_CHOOSER = ".trackrun-ColumnChooser"
COLUMN_CHOICE = ".trackrun-ColumnChooser-item"
RESIZE_GRIP = ".trackrun-RunsTable-resize"
PANEL_FOOTER = ".trackrun-RunsPanel-footer"
PANEL_STALE = ".trackrun-RunsPanel-stale"
NUMBER_CELL = ".trackrun-mod-number"
TABLE_STALE = ".trackrun-RunsTable.trackrun-mod-stale"
IMAGE = "img"
# Dialogs (JupyterLab's own).
DIALOG = ".jp-Dialog"
DIALOG_BUTTON = ".jp-Dialog-button"
TOAST = ".Toastify__toast"
# The run view's parts.
RUN_VIEW_NAME = ".trackrun-RunView-name"
RUN_VIEW_PARAMS = ".trackrun-RunView-params"
RUN_VIEW_PIN = ".trackrun-RunView-pin"
RUN_VIEW_STATUS_DETAIL = ".trackrun-RunView-statusDetail"
RUN_VIEW_CHIP = ".trackrun-RunView-facts .trackrun-Chip"
ATTEMPTS_ROW = ".trackrun-AttemptsTable tbody tr"
TAB_BUTTON = ".trackrun-Tabs-tab"
LOG_TEXT = ".trackrun-LogText"
LOG_ANY_LINE = ".trackrun-LogText-line"
LOAD_EARLIER = ".trackrun-LoadEarlier"
ANSI_RED = ".trackrun-ansi-fg1"
MAIN_TAB = "#jp-main-dock-panel .lm-TabBar-tab"
PREVIEW_TAB = "#jp-main-dock-panel .lm-TabBar-tab.trackrun-mod-preview"
# The compare view's parts.
COMPARE_PARAMS = ".trackrun-CompareView-params"
COMPARE_SUMMARY = ".trackrun-CompareView-summary"
COMPARE_CHART = ".trackrun-CompareView-chart"
COMPARE_CODE = ".trackrun-CompareView-code"
DIFF_CHANGED = ".trackrun-mod-added, .trackrun-mod-removed"
BEST_VALUE = ".trackrun-mod-best"
LINE_MARK = "path[aria-roledescription='line mark']"
POINT_MARK = "path[aria-roledescription='point']"
LEGEND = "g[aria-roledescription='legend']"
CHART_TOOLBAR = ".trackrun-MetricChart-toolbar"
CHART_SMOOTHING = ".trackrun-MetricChart-smoothing input"
CHART_LOG_Y = ".trackrun-MetricChart-logY"
CHART_X = ".trackrun-MetricChart-x"
CHART_Y_TICKS = "g[aria-roledescription='axis'][aria-label^='Y-axis'] text"
CHART_X_TICKS = "g[aria-roledescription='axis'][aria-label^='X-axis'] text"
RUN_CHIP_SWATCH = ".trackrun-CompareView-swatch"
CHART_TOOLTIP = "#vg-tooltip-element.visible"
# The cell's live view.
OUTPUT_STATUS = ".trackrun-RunOutput-status"
OUTPUT_LAST_LINE = ".trackrun-RunOutput-lastLine"
OUTPUT_TOGGLE = ".trackrun-RunOutput-toggle"
OUTPUT_CONNECTION = ".trackrun-RunOutput-connection"
CELL_OF = "xpath=ancestor::div[contains(@class,'jp-Cell')][1]"


class LabPage:
    """JupyterLab in one browser page, with trackrun's panel."""

    def __init__(self, page: Page, url: str, token: str, errors: list[str]) -> None:
        self.page = page
        self.url = url
        self.token = token
        #: Uncaught page errors and dialogs (an alert would mean injected script ran).
        self.errors = errors

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

    def command(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Run a JupyterLab command (setup steps a user would do through menus)."""
        self.page.evaluate(
            "async ([c, a]) => { await window.jupyterapp.commands.execute(c, a); }",
            [command, args or {}],
        )

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

    def set_theme(self, name: str) -> None:
        """Switch theme ("JupyterLab Dark" / "JupyterLab Light") and wait until applied."""
        self.command("apputils:change-theme", {"theme": name})
        light = "false" if "Dark" in name else "true"
        self.page.wait_for_function(
            f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000
        )

    # -- the runs panel -----------------------------------------------------------------
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

    def reload(self) -> None:
        """Load JupyterLab again keeping its workspace (login's ``?reset`` would clear it)."""
        self.page.goto(f"{self.url}/lab?token={self.token}")
        self.wait_until_restored()
        self.dismiss_news()

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

    # -- the run view -------------------------------------------------------------------
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

    def main_tabs(self, label: str | None = None) -> Locator:
        """Tabs of the main area, those whose label contains ``label`` when given."""
        tabs = self.page.locator(MAIN_TAB)
        return tabs if label is None else tabs.filter(has_text=label)

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


# media, previews and code (panel-media) ------------------------------------------------------
MEDIA_TAB_EMPTY = ".trackrun-Media-empty"
MEDIA_CARD = ".trackrun-Media-card"
MEDIA_IMG = ".trackrun-MediaFigure-img"
MEDIA_STEP = ".trackrun-MediaFigure-step"
MEDIA_NOTE = ".trackrun-MediaFigure-note, .trackrun-MediaFigure-none"
MEDIA_TITLE = ".trackrun-MediaFigure-title"
STEP_SLIDER = ".trackrun-StepSlider-input"
COMPARE_MEDIA = ".trackrun-CompareView-media"
COMPARE_MEDIA_RUN = ".trackrun-CompareMedia-run"
COMPARE_MEDIA_KEY = ".trackrun-CompareMedia-key"
ARTIFACT_BUTTON = ".trackrun-Artifacts-preview"
ARTIFACT_PREVIEW = ".trackrun-ArtifactPreview"
ARTIFACT_PREVIEW_IMG = ".trackrun-ArtifactPreview-img"
ARTIFACT_PREVIEW_CSV = ".trackrun-ArtifactPreview-csv"
ARTIFACT_PREVIEW_JSON = ".trackrun-ArtifactPreview-json"
CODE_VIEWER = ".trackrun-CodeViewer"
CM_EDITOR = ".cm-editor"
CM_CONTENT = ".cm-content"
CM_LINE = ".cm-line"
SPLASH = "#jupyterlab-splash"
COMPARE_CODE_EDITOR = ".trackrun-CompareView-code .trackrun-CodeViewer .cm-editor"
DIFF_ADDED_LINE = ".cm-line.trackrun-mod-added"
DIFF_REMOVED_LINE = ".cm-line.trackrun-mod-removed"
CHART_SEEDS = ".trackrun-MetricChart-seeds"
AREA_MARK = "path[aria-roledescription='area mark']"


class MediaPage:
    """The run view's Media and Artifacts tabs, compare's images and the code viewer, on a
    LabPage (``MediaPage(ui)``)."""

    def __init__(self, ui: LabPage) -> None:
        self.ui = ui
        self.page = ui.page

    def set_theme(self, name: str) -> None:
        """LabPage.set_theme, then wait until JupyterLab's splash (shown while the theme
        changes) is gone, so screenshots show the panel."""
        self.ui.set_theme(name)
        expect(self.page.locator(SPLASH)).to_have_count(0, timeout=30_000)

    # -- the Media tab --------------------------------------------------------------------
    def media_empty(self) -> Locator:
        return self.ui.run_view().locator(MEDIA_TAB_EMPTY)

    def media_cards(self) -> Locator:
        return self.ui.run_view().locator(MEDIA_CARD)

    def media_card(self, key: str) -> Locator:
        return self.ui.run_view().locator(f'{MEDIA_CARD}[data-key="{key}"]')

    @staticmethod
    def image(scope: Locator) -> Locator:
        return scope.locator(MEDIA_IMG)

    @staticmethod
    def step_caption(scope: Locator) -> Locator:
        return scope.locator(MEDIA_STEP)

    @staticmethod
    def note(scope: Locator) -> Locator:
        return scope.locator(MEDIA_NOTE)

    @staticmethod
    def slider(scope: Locator) -> Locator:
        return scope.locator(STEP_SLIDER)

    def press_on_slider(self, scope: Locator, key: str) -> None:
        """Focus the step slider of ``scope`` and press ``key`` (ArrowLeft, Home, End...)."""
        slider = self.slider(scope)
        slider.focus()
        slider.press(key)

    @staticmethod
    def expect_image_loaded(image: Locator) -> None:
        """Wait until the image has really loaded (decoded, with a width)."""
        expect(image).to_be_visible()
        image.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )

    # -- compare ----------------------------------------------------------------------------
    @staticmethod
    def compare_media(view: Locator) -> Locator:
        return view.locator(COMPARE_MEDIA)

    @staticmethod
    def compare_media_run(view: Locator, name: str) -> Locator:
        """The column of the run called ``name`` in compare's images."""
        exact = re.compile(f"^{re.escape(name)}$")
        return (
            view.locator(COMPARE_MEDIA)
            .locator(COMPARE_MEDIA_RUN)
            .filter(has=view.page.locator(MEDIA_TITLE, has_text=exact))
        )

    @staticmethod
    def compare_media_key(view: Locator) -> Locator:
        return view.locator(COMPARE_MEDIA_KEY)

    # -- artifacts --------------------------------------------------------------------------
    def preview_artifact(self, name: str) -> Locator:
        """Click the artifact's name; returns its preview."""
        exact = re.compile(f"^{re.escape(name)}$")
        self.ui.run_view().locator(ARTIFACT_BUTTON, has_text=exact).click()
        preview = self.ui.run_view().locator(ARTIFACT_PREVIEW)
        expect(preview).to_have_attribute("aria-label", f"Preview of {name}")
        return preview

    @staticmethod
    def preview_image(preview: Locator) -> Locator:
        return preview.locator(ARTIFACT_PREVIEW_IMG)

    @staticmethod
    def preview_csv(preview: Locator) -> Locator:
        return preview.locator(ARTIFACT_PREVIEW_CSV)

    @staticmethod
    def preview_json(preview: Locator) -> Locator:
        return preview.locator(ARTIFACT_PREVIEW_JSON)

    # -- code -------------------------------------------------------------------------------
    def code_editor(self) -> Locator:
        """JupyterLab's CodeMirror editor showing the run's code."""
        return self.ui.run_view().locator(CODE_VIEWER).locator(CM_EDITOR)

    @staticmethod
    def compare_code(view: Locator) -> Locator:
        """Compare's code section."""
        return view.locator(COMPARE_CODE)

    @staticmethod
    def compare_code_editors(view: Locator) -> Locator:
        """The editors of compare's code diff (one per hunk)."""
        return view.locator(COMPARE_CODE_EDITOR)

    @staticmethod
    def added_lines(editor: Locator) -> Locator:
        return editor.locator(DIFF_ADDED_LINE)

    @staticmethod
    def removed_lines(editor: Locator) -> Locator:
        return editor.locator(DIFF_REMOVED_LINE)

    @staticmethod
    def code_text(editor: Locator) -> str:
        return "\n".join(editor.locator(CM_LINE).all_text_contents())

    @staticmethod
    def token_colors(editor: Locator, word: str) -> tuple[str, str]:
        """The colour of the first token that is exactly ``word``, and the lines' own colour."""
        return tuple(
            editor.evaluate(
                """(ed, word) => {
                  const line = ed.querySelector('.cm-line');
                  const span = [...ed.querySelectorAll('.cm-line span')]
                    .find(s => s.textContent === word);
                  return [span ? getComputedStyle(span).color : '',
                          line ? getComputedStyle(line).color : ''];
                }""",
                word,
            )
        )

    def wait_highlighted(self, editor: Locator, word: str) -> None:
        """Wait until ``word`` is a token coloured apart from plain text (the language
        loads asynchronously)."""
        self.page.wait_for_function(
            """([ed, word]) => {
              const line = ed.querySelector('.cm-line');
              const span = [...ed.querySelectorAll('.cm-line span')]
                .find(s => s.textContent === word);
              return !!span && !!line
                && getComputedStyle(span).color !== getComputedStyle(line).color;
            }""",
            arg=[editor.element_handle(), word],
        )

    # -- seed groups in compare's chart ---------------------------------------------------
    def show_seeds(self, view: Locator, choice: str) -> None:
        """Choose what compare's chart shows: "runs", "sd" or "ci"."""
        view.locator(COMPARE_CHART).locator(CHART_SEEDS).select_option(choice)

    @staticmethod
    def seeds_choice(view: Locator) -> Locator:
        return view.locator(COMPARE_CHART).locator(CHART_SEEDS)

    @staticmethod
    def area_marks(chart: Locator) -> Locator:
        """The shaded bands of a chart."""
        return chart.locator(AREA_MARK)


# -- Notebook 7 (misc) ------------------------------------------------------------------------
NB7_NOTEBOOK = ".jp-NotebookPanel"
NB7_DOWN_PANEL = "#jp-down-stack"


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


# trash, autocomplete and change feed (panel-table)
TRASH = ".trackrun-Trash"
TRASH_TOGGLE = ".trackrun-Trash-toggle"
TRASH_ROW = ".trackrun-Trash-row"
TRASH_NAME = ".trackrun-Trash-name"
TRASH_RESTORE = ".trackrun-Trash-restore"
TRASH_PURGE = ".trackrun-Trash-purge"
COMPLETIONS = ".trackrun-Completions"
COMPLETION = ".trackrun-Completions-item"
COMPLETION_ACTIVE = ".trackrun-Completions-item.jp-mod-active"
COMPLETION_LABEL = ".trackrun-Completions-label"
TABLE_VIEW = ".trackrun-TableView"
TABLE_VIEW_GROUP_BY = ".trackrun-TableView-groupBy"
GROUP_HEADER = ".trackrun-RunsTable-group"
OPEN_TABLE_BUTTON = ".trackrun-RunsPanel-openTable"
SPLASH = "#jupyterlab-splash"
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


# -- Story 20: renaming a run and editing its note -------------------------------------------
RUN_VIEW_NOTE = ".trackrun-RunView-note"
RUN_VIEW_EDIT = ".trackrun-RunView-edit"
EDIT_RUN_NAME = ".trackrun-EditRunDialog-name"
EDIT_RUN_NOTE = ".trackrun-EditRunDialog-note"
EDIT_RUN_HINT = ".trackrun-EditRunDialog-hint"


class RunNotesPage:
    """The run view's note and its "Edit Run Name and Note…" dialog."""

    def __init__(self, lab_page: LabPage) -> None:
        self.ui = lab_page
        self.page = lab_page.page

    def note(self) -> Locator:
        """The note shown under the run view's title."""
        return self.ui.run_view().locator(RUN_VIEW_NOTE)

    def open_editor(self) -> Locator:
        """Click the run view's "Edit…" button; returns the dialog it opens."""
        self.ui.run_view().locator(RUN_VIEW_EDIT).click()
        dialog = self.ui.dialog()
        expect(dialog.locator(EDIT_RUN_NAME)).to_be_visible()
        return dialog

    def name_field(self) -> Locator:
        return self.ui.dialog().locator(EDIT_RUN_NAME)

    def note_field(self) -> Locator:
        return self.ui.dialog().locator(EDIT_RUN_NOTE)

    def hint(self) -> Locator:
        """The line under the fields: what is wrong with the text, when something is."""
        return self.ui.dialog().locator(EDIT_RUN_HINT)

    def save(self) -> None:
        self.ui.dialog_button("Save").click()
