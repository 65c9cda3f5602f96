"""Statistics over groups of runs: each group's mean ± sd of a metric's final values, Welch's
t-test with the confidence interval of the difference, and the best group against the runner-up.

A group is a label and the row numbers of its runs in a runs table (one row per run, final
metric values in ``metrics.<key>`` columns, as ``Store.runs`` answers).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trackrun.table import Table

#: Confidence level of the interval reported for a difference in means.
CONFIDENCE = 0.95

#: Runs split into groups: each group's label and its runs' row numbers in the runs table.
Groups = Sequence[tuple[str, list[int]]]


@dataclass(frozen=True)
class MetricTest:
    """Welch's t-test of one metric's final values between two groups of runs.

    ``difference`` is the first group's mean minus the second's; ``ci`` its 95% confidence
    interval (Welch–Satterthwaite ``df``). Numbers are None when the test could not run;
    ``message`` then says why, and otherwise states the result in words.
    """

    metric: str
    groups: tuple[str, str]
    n: tuple[int, int]
    means: tuple[float | None, float | None]
    stds: tuple[float | None, float | None]
    difference: float | None
    ci: tuple[float, float] | None
    df: float | None
    p_value: float | None
    message: str

    def __str__(self) -> str:
        return self.message


def final_values(runs: Table, metric: str, rows: Sequence[int]) -> list[float]:
    """The final values of ``metric`` in rows ``rows`` of ``runs``, as floats; a run without
    one, or with NaN, an infinity or a non-number, is left out."""
    column = runs.columns.get(f"metrics.{metric}", [None] * len(runs))
    return [float(v) for v in (column[i] for i in rows) if _finite(v)]


def group_table(runs: Table, groups: Groups, metrics: Sequence[str]) -> Table:
    """One row per group and metric: ``group``, ``metric``, ``n`` (runs with a final value),
    ``mean``, ``std`` (None under two values) and ``missing`` (runs without a value)."""
    out: dict[str, list[Any]] = {k: [] for k in ("group", "metric", "n", "mean", "std")}
    out["missing"] = []
    for label, rows in groups:
        for metric in metrics:
            values = final_values(runs, metric, rows)
            out["group"].append(label)
            out["metric"].append(metric)
            out["n"].append(len(values))
            out["mean"].append(statistics.fmean(values) if values else None)
            out["std"].append(statistics.stdev(values) if len(values) > 1 else None)
            out["missing"].append(len(rows) - len(values))
    return Table(out)


def group_tests(runs: Table, groups: Groups, metrics: Sequence[str], goal: str) -> list[MetricTest]:
    """Welch's t-test for each of ``metrics``: between the two groups when there are exactly
    two, else between the groups of the best and second-best mean (highest with ``goal``
    ``"max"``, lowest with ``"min"``). A metric that fewer than two groups logged gets none."""
    tests = []
    for m in metrics:
        pair = groups if len(groups) == 2 else best_two(runs, groups, m, goal)
        if len(pair) < 2:
            continue
        (label_a, rows_a), (label_b, rows_b) = pair[:2]
        tests.append(
            welch_test(
                m,
                (label_a, label_b),
                final_values(runs, m, rows_a),
                final_values(runs, m, rows_b),
            )
        )
    return tests


def best_two(runs: Table, groups: Groups, metric: str, goal: str) -> list[tuple[str, list[int]]]:
    """The groups of ``metric``'s best and second-best mean toward ``goal`` (``"max"`` or
    ``"min"``), best first; groups without a final value of it are left out."""
    scored = [(statistics.fmean(v), g) for g in groups if (v := final_values(runs, metric, g[1]))]
    scored.sort(key=lambda item: -item[0] if goal == "max" else item[0])
    return [g for _, g in scored[:2]]


def welch_test(
    metric: str, labels: tuple[str, str], a: Sequence[float], b: Sequence[float]
) -> MetricTest:
    """Welch's t-test of ``a`` against ``b`` (scipy), with the CI of ``mean(a) - mean(b)``."""
    n = (len(a), len(b))
    means = (statistics.fmean(a) if a else None, statistics.fmean(b) if b else None)
    stds = (statistics.stdev(a) if n[0] > 1 else None, statistics.stdev(b) if n[1] > 1 else None)
    (mean_a, mean_b), (sd_a, sd_b) = means, stds
    if sd_a is None or sd_b is None or mean_a is None or mean_b is None or sd_a == sd_b == 0:
        why = (
            "the t-test needs at least 2 runs per group with a final value "
            f"({labels[0]}: {n[0]}, {labels[1]}: {n[1]})"
            if sd_a is None or sd_b is None
            else f"no run-to-run variation in either group ({mean_a:.6g} vs {mean_b:.6g})"
        )
        return MetricTest(
            metric, labels, n, means, stds, None, None, None, None, f"{metric}: {why}"
        )
    from scipy import stats

    var_a, var_b = sd_a**2 / n[0], sd_b**2 / n[1]
    difference = mean_a - mean_b
    df = (var_a + var_b) ** 2 / (var_a**2 / (n[0] - 1) + var_b**2 / (n[1] - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(var_a + var_b)
    p_value = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    d = _decimals(half)
    over = f"{n[0]} runs each" if n[0] == n[1] else f"{n[0]} and {n[1]} runs"
    p_text = "p < 0.0001" if p_value < 1e-4 else f"p = {p_value:.2g}"
    ci = (difference - half, difference + half)
    message = (
        f"{metric}: {labels[0]} {mean_a:.{d}f} ± {sd_a:.{d}f} vs {labels[1]} {mean_b:.{d}f} ± "
        f"{sd_b:.{d}f} (mean ± sd) over {over}: difference {difference:.{d}f}, "
        f"{CONFIDENCE:.0%} CI [{ci[0]:.{d}f}, {ci[1]:.{d}f}], Welch {p_text}"
    )
    return MetricTest(metric, labels, n, means, stds, difference, ci, df, p_value, message)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _decimals(half_width: float) -> int:
    """Decimals that show the CI half-width to two significant digits."""
    if not math.isfinite(half_width) or half_width <= 0:
        return 4
    return min(12, max(0, 1 - math.floor(math.log10(half_width))))
