"""Metric records as event-file JSON lines: the text of each line and each key's step counter.

A run's writer formats every logged step here, on its background thread, and ``finish()``
formats every step not flushed yet while the user waits, so this is the one place where
formatting speed shows. A record whose keys were seen before reuses a line template for that
key set, and its values go through ``float.__repr__`` in one C-level ``map``; anything
unusual (an int, a tensor converted late, a NaN or an infinity) takes the value-by-value path,
which writes the same text as ``json.dumps`` (non-finite numbers as strings).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trackrun.events import float_text, number_text

#: Metric names, and key sets, whose JSON text is remembered (beyond this, built each time).
MAX_CACHED = 10_000
_encode_string = json.encoder.encode_basestring
_FLOAT_REPR = float.__repr__


class MetricLines:
    """Formats the metric records of one event file; remembers each key's next step.

    ``step_counters`` maps every key formatted so far to the step its next point without an
    explicit step gets (one more than its last step).
    """

    def __init__(self) -> None:
        self.step_counters: dict[str, int] = {}
        self._key_json: dict[str, str] = {}
        self._templates: dict[tuple[str, ...], str] = {}

    def append(
        self, seq: int, when: float, step: int | None, values: Mapping[str, Any], lines: list[str]
    ) -> int:
        """Append the lines of one record logged at ``when`` (``time.time()``) for ``step`` (None:
        each key's own counter, which may give several lines) to ``lines``, numbered from
        ``seq + 1``. Returns the last sequence number used. Raises what a value that cannot be
        converted raises (OverflowError, TypeError...), having appended nothing."""
        if step is None:
            return self._append_counted(seq, float_text(when), values, lines)
        keys = tuple(values)
        template = self._templates.get(keys) or self._template(keys)
        try:
            texts = tuple(map(_FLOAT_REPR, values.values()))
        except TypeError:  # not all plain floats (ints, numpy scalars...)
            texts = tuple(map(number_text, values.values()))
        else:
            if "n" in "".join(texts):  # nan, inf or -inf: JSON has no literal for them
                texts = tuple(map(number_text, values.values()))
        line = template % (seq + 1, when, step, *texts)  # %s of a float is its repr
        self.step_counters.update(dict.fromkeys(keys, step + 1))
        lines.append(line)
        return seq + 1

    def _append_counted(
        self, seq: int, time_text: str, values: Mapping[str, Any], lines: list[str]
    ) -> int:
        counters = self.step_counters
        by_step: dict[int, list[str]] = {}
        for key, raw in values.items():
            text = f"{self._key_text(key)}: {number_text(raw)}"
            by_step.setdefault(counters.get(key, 0), []).append(text)
        for key in values:
            counters[key] = counters.get(key, 0) + 1
        for key_step, parts in by_step.items():
            seq += 1
            lines.append(
                f'{{"seq": {seq}, "type": "metrics", "time": {time_text}, '
                f'"step": {key_step}, "values": {{{", ".join(parts)}}}}}'
            )
        return seq

    def _template(self, keys: tuple[str, ...]) -> str:
        """The line of a record with these keys, with %s for seq, time, step and values."""
        values = ", ".join(f"{self._key_text(key).replace('%', '%%')}: %s" for key in keys)
        template = (
            f'{{"seq": %s, "type": "metrics", "time": %s, "step": %s, "values": {{{values}}}}}'
        )
        if len(self._templates) < MAX_CACHED:
            self._templates[keys] = template
        return template

    def _key_text(self, key: str) -> str:
        encoded = self._key_json.get(key)
        if encoded is None:
            encoded = _encode_string(key)
            if len(self._key_json) < MAX_CACHED:
                self._key_json[key] = encoded
        return encoded
