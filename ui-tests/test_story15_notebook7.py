"""Story 15: in Notebook 7, the cell view's "open" opens the run view (under the notebook,
whose page holds only the notebook), and the runs panel is in the left sidebar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import VIEWPORT, Lab, make_project
from pages import NotebookSevenPage
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any) -> Iterator[Lab]:
    pytest.importorskip("notebook", reason="Notebook 7 (pip install notebook) is not installed")
    root = make_project(tmp_path_factory.mktemp("nb7") / "project")
    server = Lab.start(root, app="notebook")
    yield server
    server.stop()


def test_open_button_shows_the_run_view_in_notebook_7(
    notebook7: Lab, playwright_browser: Any, screenshots: Path
) -> None:
    path = notebook7.write_notebook(
        "story15.ipynb",
        [
            "%load_ext trackrun",
            "%%track_run --name story15-nb7\nimport trackrun\n"
            "for step in range(3):\n    trackrun.log(loss=1.0 / (step + 1), step=step)",
        ],
    )
    context = playwright_browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        page = context.new_page()
        # Notebook 7 itself throws while loading a settings schema (notebook_core); only
        # errors raised in trackrun's code fail this test.
        page.on(
            "pageerror",
            lambda error: (
                errors.append(error.stack or str(error))
                if "labextensions/trackrun" in (error.stack or "")
                else None
            ),
        )
        ui = NotebookSevenPage(page, notebook7.url, notebook7.token, errors)
        ui.open_notebook(path)
        ui.run_all_cells()
        output = ui.run_outputs().first
        expect(output).to_have_attribute("data-status", "finished", timeout=60_000)
        expect(ui.run_view()).to_have_count(0)
        ui.open_button(output).click()
        view = ui.run_view_in_down_panel()
        expect(view).to_be_visible()
        expect(view).to_contain_text("story15-nb7")
        expect(ui.runs_panel()).to_be_attached()  # View › Left Sidebar shows it
        page.screenshot(path=str(screenshots / "notebook7-run-view.png"))
        assert not errors, errors
    finally:
        context.close()
