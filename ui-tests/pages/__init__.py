"""The page objects of the UI tests, one module per part of the UI; tests import them here."""

# A new feature's page object goes in its own module here (its selectors in selectors.py)
# and is re-exported below, so tests keep importing from ``pages``.
from .lab import LabPage
from .media import MediaPage
from .notebook7 import NotebookSevenPage
from .notes import RunNotesPage
from .reproduce import ReproducePage
from .selectors import ROW
from .sweeps import SweepsPage
from .table import PanelTablePage

__all__ = [
    "ROW",
    "LabPage",
    "MediaPage",
    "NotebookSevenPage",
    "PanelTablePage",
    "ReproducePage",
    "RunNotesPage",
    "SweepsPage",
]
