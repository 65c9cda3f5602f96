"""What a run accepts: validation of metric values and steps, parameters, tags, names, notes
and file names.

Bad input is refused at the call with an error naming the key and the fix, so no reader ever
meets a value the index cannot hold (a step of 2**63 once broke every query of a store).
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from trackrun.errors import TrackrunError

#: Steps are stored as signed 64-bit integers.
MAX_STEP = 2**63 - 1
#: Integers beyond this lose precision as doubles (metrics are stored as doubles).
MAX_EXACT_INT = 2**53
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ +=,@-]{0,200}$")
_warned_precision: set[str] = set()
#: A run's name: what lists and charts show in one line.
MAX_NAME_CHARS = 200
#: A run's note: a few paragraphs (why the run matters), not a log.
MAX_NOTE_CHARS = 10_000


class PrecisionWarning(UserWarning):
    """An integer metric was too large to be stored exactly as a double."""


def check_metric_key(key: Any) -> str:
    """Return ``key`` if it can name a metric (a non-empty string without NUL), else raise.

    Raises TypeError for a key that is not a string, ValueError for an empty one or one
    containing a NUL character.
    """
    if type(key) is not str and not isinstance(key, str):
        raise TypeError(f"trackrun.log: metric names must be strings, not {key!r}")
    if not key or "\x00" in key:
        raise ValueError(
            f"trackrun.log: metric name {key!r} is empty or contains a NUL character; "
            "name metrics with printable text such as 'train/loss'"
        )
    return str(key)


def normalize_metrics(values: Mapping[Any, Any]) -> dict[str, Any]:
    """Validate metric values; returns a new dict of floats/ints (or deferred 0-d tensors).

    Raises TypeError naming the key and type of a value that is not a number, ValueError
    for a bad name or an integer too large for a double (NaN and infinities are kept).
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[check_metric_key(key)] = metric_value(key, value)
    return out


def metric_value(key: str, value: Any) -> Any:
    """One validated metric value (float or int; a deferred device tensor); see normalize_metrics."""
    if type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return _int_metric(key, int(value))
    if isinstance(value, (bool, numbers.Real)):
        return _float_metric(key, value)
    ndim = getattr(value, "ndim", None)
    if ndim == 0 and hasattr(value, "item"):
        device = getattr(value, "device", None)
        if device is not None and getattr(device, "type", "cpu") != "cpu":
            # Defer .item() (a device sync) to the flusher thread; clone so later in-place
            # updates of the tensor do not change the logged value.
            return value.detach().clone()
        result = value.item()
        if isinstance(result, (bool, numbers.Real)):
            return metric_value(key, result)
    raise TypeError(
        f"trackrun.log: metric {key!r} is a {type(value).__module__}.{type(value).__qualname__}"
        f"{_shape_hint(value)}; metrics must be numbers (int, float, numpy scalar or 0-d tensor)"
    )


def _int_metric(key: str, value: int) -> int:
    if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
        return value
    try:
        float(value)
    except OverflowError:
        raise ValueError(
            f"trackrun.log: metric {key!r} = {_short(value)} is too large to store as a number "
            "(the limit is about 1.8e308); log a float, a logarithm (math.log10) or a scaled value"
        ) from None
    if key not in _warned_precision:
        _warned_precision.add(key)
        warnings.warn(
            f"trackrun.log: metric {key!r} = {_short(value)} is above 2**53 and is stored as a "
            "double, which loses its last digits; log it as a param or a string if every digit "
            "matters",
            PrecisionWarning,
            stacklevel=4,
        )
    return value


def _float_metric(key: str, value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(
            f"trackrun.log: metric {key!r} = {_short(value)} is too large to store as a number "
            "(the limit is about 1.8e308); log a float, a logarithm or a scaled value"
        ) from None


def _short(value: Any) -> str:
    text = str(value) if not isinstance(value, int) or value.bit_length() < 1000 else "a huge int"
    return text if len(text) <= 40 else text[:20] + "..." + text[-10:]


def _shape_hint(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f" of shape {tuple(shape)} (use .mean() or .item())" if shape is not None else ""


def check_step(step: Any) -> int:
    """Return ``step`` as an int if it is an integer in [0, 2**63), else raise.

    Raises TypeError for a non-integer (floats and bools included), ValueError when out of range.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(
            f"trackrun: step must be an int, not {type(step).__name__} ({step!r}); pass int(step)"
        )
    number = int(step)
    if not 0 <= number <= MAX_STEP:
        raise ValueError(
            f"trackrun: step {_short(number)} is out of range; steps must be integers from 0 "
            "to 2**63 - 1"
        )
    return number


def normalize_params(params: Mapping[Any, Any]) -> dict[str, Any]:
    """Validate parameters: str keys, JSON-like values (numpy scalars become Python numbers).

    Raises TypeError naming the key and type of a value that cannot be stored faithfully.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"trackrun: parameter names must be non-empty strings, not {key!r}")
        out[key] = _json_like(value, key)
    return out


def _json_like(value: Any, key: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, (list, tuple)):
        return [_json_like(v, key) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_like(v, key) for k, v in value.items()}
    item = getattr(value, "item", None)
    if getattr(value, "ndim", None) == 0 and item is not None:
        return _json_like(item(), key)
    raise TypeError(
        f"trackrun: parameter {key!r} is a {type(value).__qualname__}; parameters must be "
        "numbers, strings, booleans, None or lists/dicts of those (log str(value) if you "
        "want its text)"
    )


def normalize_tags(tags: Iterable[str] | str) -> list[str]:
    """Validate tags: non-empty strings, stripped, without control or text-direction
    control characters; a single string is one tag.

    Raises InvalidTagError (a TypeError and an InvalidTextError) for anything else.
    """
    if isinstance(tags, str):
        tags = [tags]
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or "\n" in tag:
            raise InvalidTagError(f"trackrun: tags must be non-empty one-line strings, not {tag!r}")
        text = tag.strip()
        _refuse_control(text, f"a tag ({text!r})", allowed="", error=InvalidTagError)
        out.append(text)
    return out


def check_file_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain file name (no folders, no leading dot), else ValueError."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"trackrun: {what} {name!r} must be a plain file name (letters, digits, . _ - + = , @)"
        )
    return name


class InvalidTextError(TrackrunError, ValueError):
    """A run name or note that cannot be stored as given (the message names the fix)."""

    code = "invalid_text"


class InvalidTagError(InvalidTextError, TypeError):
    """A tag that cannot be stored as given; a TypeError too, as tags always raised."""


def check_run_name(name: Any) -> str:
    """``name`` stripped, if it can name a run: 1-200 characters, no control or
    text-direction control characters.

    Raises InvalidTextError (a TrackrunError and ValueError) naming the problem and the fix.
    """
    if not isinstance(name, str):
        raise InvalidTextError(f"a run name must be a string, not {type(name).__name__}")
    text = name.strip()
    if not text:
        raise InvalidTextError("a run name cannot be empty; give it some text, e.g. 'lr-sweep-3'")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidTextError(
            f"a run name is at most {MAX_NAME_CHARS} characters, this one has {len(text)}; "
            "shorten it (put the longer story in the run's note)"
        )
    _refuse_control(text, "a run name", allowed="")
    return text


def check_note(note: Any) -> str:
    """``note`` stripped (line ends as \\n), if it can be a run's note: at most 10,000
    characters, no control characters but newlines and tabs, no text-direction controls.
    The empty string clears a note.

    Raises InvalidTextError (a TrackrunError and ValueError) naming the problem and the fix.
    """
    if not isinstance(note, str):
        raise InvalidTextError(f"a run note must be a string, not {type(note).__name__}")
    # Windows and old Mac line ends are the same newline to a reader of the note.
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidTextError(
            f"a run note is at most {MAX_NOTE_CHARS:,} characters, this one has {len(text):,}; "
            "shorten it, or log the long text as an artifact (trackrun.artifact)"
        )
    _refuse_control(text, "a run note", allowed="\n\t")
    return text


# Bidirectional embeddings, overrides and isolates reorder how the text around them is
# shown, so a name could read differently from what it is ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refuse_control(
    text: str, what: str, allowed: str, error: type[InvalidTextError] = InvalidTextError
) -> None:
    for position, char in enumerate(text):
        if char in allowed:
            continue
        if unicodedata.category(char) == "Cc":
            kind = "the control character"
        elif char in _BIDI_CONTROLS:
            kind = "the text-direction control character"
        else:
            continue
        kept = " (newlines are kept)" if "\n" in allowed else ""
        raise error(
            f"{what} cannot contain {kind} U+{ord(char):04X} "
            f"(at character {position + 1}); remove it{kept}"
        )
