"""MediaPage: the run view's Media and Artifacts tabs, compare's images and the code viewer."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from .lab import LabPage
from .selectors import (
    AREA_MARK,
    ARTIFACT_BUTTON,
    ARTIFACT_PREVIEW,
    ARTIFACT_PREVIEW_CSV,
    ARTIFACT_PREVIEW_IMG,
    ARTIFACT_PREVIEW_JSON,
    CHART_SEEDS,
    CM_EDITOR,
    CM_LINE,
    CODE_VIEWER,
    COMPARE_CHART,
    COMPARE_CODE,
    COMPARE_CODE_EDITOR,
    COMPARE_MEDIA,
    COMPARE_MEDIA_KEY,
    COMPARE_MEDIA_RUN,
    DIFF_ADDED_LINE,
    DIFF_REMOVED_LINE,
    MEDIA_CARD,
    MEDIA_IMG,
    MEDIA_NOTE,
    MEDIA_STEP,
    MEDIA_TAB_EMPTY,
    MEDIA_TITLE,
    SPLASH,
    STEP_SLIDER,
)


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
