"""Copying a cell's stdout and stderr into the run's output.log while they still reach the user."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from trackrun.liveness import note_output
from trackrun.redaction import redact_text


class TeeStream(io.TextIOBase):
    """A text stream that writes to ``stream`` (what the user sees) and appends to ``log``,
    with secret values redacted there. Each write counts as activity of the run (see
    liveness.note_output); a log that refuses bytes (a full disk) holds them (OutputLog).

    Other attributes (``isatty``, ``fileno``, ``encoding``...) are the wrapped stream's, so
    progress bars and libraries that inspect the stream behave as without trackrun.
    """

    def __init__(self, stream: Any, log: BinaryIO | io.RawIOBase) -> None:
        super().__init__()
        self._stream = stream
        self._log = log

    def write(self, text: str) -> int:
        note_output()
        with _suppress_closed():
            # The store never keeps a secret's value, even one the cell printed.
            self._log.write(redact_text(text).encode("utf-8", "replace"))
        written: int = self._stream.write(text)
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(self._stream.isatty())

    def fileno(self) -> int:
        return int(self._stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _suppress_closed:  # noqa: N801 - used like contextlib.suppress
    """Writing to a log closed under us (the run ended in another thread) must not fail."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ValueError, OSError))  # type: ignore[arg-type]
