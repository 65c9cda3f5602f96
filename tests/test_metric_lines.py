"""Metric lines: the fast template path writes exactly what json.dumps would, for any value."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from trackrun.metric_lines import MetricLines

NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def reference_line(seq: int, when: float, step: int, values: dict[str, Any]) -> str:
    """The line as json.dumps writes it, non-finite numbers as strings (keys not ASCII-escaped,
    as the writer has always written them)."""

    def number(value: Any) -> Any:
        as_float = float(value.item() if hasattr(value, "item") else value)
        return as_float if math.isfinite(as_float) else NON_FINITE[repr(as_float)]

    record = {
        "seq": seq,
        "type": "metrics",
        "time": when,
        "step": step,
        "values": {key: number(value) for key, value in values.items()},
    }
    return json.dumps(record, ensure_ascii=False)


@pytest.mark.parametrize(
    "values",
    [
        {"loss": 0.5, "acc": 1 / 3, "lr": 1e-3, "grad_norm": 12345.678},
        {"loss": 2},  # an int
        {"loss": np.float64(0.1), "acc": np.float32(0.1), "n": np.int64(3)},
        {"loss": float("nan"), "acc": float("inf"), "x": -float("inf"), "y": 0.25},
        {'odd "key"': 1.5, "100%": 2.5, "%s%d": 3.5, "ünï\u2028": 4.5, "a\\b": 5.5},
        {"tiny": 5e-324, "huge": 1.7976931348623157e308, "neg": -0.0},
    ],
)
def test_each_line_is_what_json_dumps_writes(values: dict[str, Any]) -> None:
    lines: list[str] = []
    formatter = MetricLines()
    # twice: the second record of a key set goes through its remembered template
    seq = formatter.append(6, 1764500000.123456, 3, values, lines)
    seq = formatter.append(seq, 1764500001.5, 4, values, lines)
    assert seq == 8
    assert lines == [
        reference_line(7, 1764500000.123456, 3, values),
        reference_line(8, 1764500001.5, 4, values),
    ]
    assert all(json.loads(line)["values"].keys() == values.keys() for line in lines)


def test_keys_in_another_order_keep_their_own_order() -> None:
    lines: list[str] = []
    formatter = MetricLines()
    formatter.append(0, 1.5, 0, {"a": 1.0, "b": 2.0}, lines)
    formatter.append(1, 2.5, 1, {"b": 3.0, "a": 4.0}, lines)
    assert [list(json.loads(line)["values"].items()) for line in lines] == [
        [("a", 1.0), ("b", 2.0)],
        [("b", 3.0), ("a", 4.0)],
    ]


def test_counters_follow_explicit_steps_and_count_implicit_ones() -> None:
    lines: list[str] = []
    formatter = MetricLines()
    seq = formatter.append(0, 1.0, 9, {"loss": 1.0}, lines)
    seq = formatter.append(seq, 2.0, None, {"loss": 2.0, "acc": 0.5}, lines)
    seq = formatter.append(seq, 3.0, None, {"acc": 0.75}, lines)
    records = [json.loads(line) for line in lines]
    # loss continues after its explicit step 9; acc starts at 0; one line per step
    assert [(r["seq"], r["step"], r["values"]) for r in records] == [
        (1, 9, {"loss": 1.0}),
        (2, 10, {"loss": 2.0}),
        (3, 0, {"acc": 0.5}),
        (4, 1, {"acc": 0.75}),
    ]
    assert seq == 4
    assert formatter.step_counters == {"loss": 11, "acc": 2}


def test_a_value_that_cannot_convert_raises_and_appends_nothing() -> None:
    lines: list[str] = []
    formatter = MetricLines()
    with pytest.raises(OverflowError):
        formatter.append(0, 1.0, 0, {"loss": 1.0, "big": 10**400}, lines)
    with pytest.raises(OverflowError):
        formatter.append(0, 1.0, None, {"loss": 1.0, "big": 10**400}, lines)
    assert lines == [] and formatter.step_counters == {}
