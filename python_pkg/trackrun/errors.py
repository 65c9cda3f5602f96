"""The exceptions trackrun raises; every message names the problem and the fix."""

from __future__ import annotations


class TrackrunError(Exception):
    """Base class of every error trackrun raises on purpose (user-facing, no traceback needed)."""

    code = "trackrun_error"


class NoActiveRunError(TrackrunError):
    """A logging call was made while no run is active."""

    code = "no_active_run"


class RunNotFoundError(TrackrunError):
    """A run id or prefix matched no run in the store."""

    code = "run_not_found"


class AmbiguousRunIdError(TrackrunError):
    """A run id prefix matched more than one run."""

    code = "ambiguous_run_id"


class InvalidRunIdError(TrackrunError):
    """A string that should be a run id (or prefix) has characters a run id never has."""

    code = "invalid_run_id"


class FilterError(TrackrunError):
    """A filter or order-by string could not be parsed.

    ``column`` is the 1-based column where parsing failed; ``text`` is the input.
    """

    code = "invalid_filter"

    def __init__(self, message: str, text: str, column: int) -> None:
        self.reason = message
        self.text = text
        self.column = column
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}\n  {text}\n  {pointer}")


class RunStateError(TrackrunError):
    """An operation is not allowed in the run's current state (e.g. deleting a running run)."""

    code = "invalid_run_state"


class StoreError(TrackrunError):
    """The run store could not be used (permissions, a lock held too long, a bad path)."""

    code = "store_error"


class NotSerializableError(TrackrunError):
    """Values a detached cell needs cannot be frozen; the message lists each one."""

    code = "not_serializable"
