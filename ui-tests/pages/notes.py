"""RunNotesPage: the run view's note and its rename/edit-note dialog."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from .lab import LabPage
from .selectors import (
    EDIT_RUN_HINT,
    EDIT_RUN_NAME,
    EDIT_RUN_NOTE,
    RUN_VIEW_EDIT,
    RUN_VIEW_NOTE,
)


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
