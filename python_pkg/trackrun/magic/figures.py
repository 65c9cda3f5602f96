"""Figures a tracked cell displays (``plt.show()``, ``display(fig)``), logged as the run's media.

Both end in IPython's display formatter (matplotlib's inline backend displays each figure
it shows, and at the end of the cell the figures not shown yet), so one hook there sees
every figure exactly when the user sees it, already rendered: the PNG the frontend gets is
the one stored, keyed by its order in the cell's output (``figure-0``, ``figure-1``...).
"""

from __future__ import annotations

import base64
import contextlib
import sys
from typing import Any

from trackrun.run import Run


class FigureCapture:
    """While started, logs each matplotlib figure ``shell`` displays into ``run``."""

    def __init__(self, shell: Any, run: Run) -> None:
        self.shell = shell
        self.run = run
        #: Figures logged so far (the next one is ``figure-<count>``).
        self.count = 0
        self._formatter: Any = None

    def start(self) -> FigureCapture:
        """Hook the shell's display formatter; returns self."""
        formatter = getattr(self.shell, "display_formatter", None)
        if formatter is None:
            return self
        original = formatter.format

        def format_and_log(obj: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(obj, *args, **kwargs)
            if _is_figure(obj):
                self._log(obj, result[0] if isinstance(result, tuple) else {})
            return result

        # An attribute on the instance shadows the method for display() (which looks it up
        # on every call), and deleting it restores the class's own.
        formatter.format = format_and_log
        self._formatter = formatter
        return self

    def stop(self) -> None:
        """Remove the hook (the formatter behaves as before ``start``)."""
        if self._formatter is not None:
            with contextlib.suppress(AttributeError):  # another hook already removed it
                del self._formatter.format
            self._formatter = None

    def _log(self, figure: Any, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        if not any(mime.startswith("image/") for mime in data):
            return  # shown as text only (an empty figure): the user saw no image
        png = data.get("image/png")
        if isinstance(png, str):
            png = base64.b64decode(png)
        key = f"figure-{self.count}"
        try:
            # The PNG the frontend shows when there is one (inline backend); else render it.
            self.run.log_image(key, png if isinstance(png, bytes) else figure, step=0)
        except Exception as error:  # a figure that cannot be logged never breaks the cell
            print(
                f"trackrun: figure {key} was shown but not logged ({type(error).__name__}: "
                f"{error}); log it with trackrun.log_figure(key, fig)",
                file=sys.stderr,
            )
            return
        self.count += 1


def _is_figure(value: Any) -> bool:
    """A matplotlib Figure, recognised without importing matplotlib."""
    return any(
        c.__module__ == "matplotlib.figure" and c.__name__ == "Figure" for c in type(value).__mro__
    )
