"""Comparing a reproduction with its original run: final metrics side by side, per-step
curves within a tolerance, a verdict, and recording that verdict on both runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.events import encode_number
from trackrun.table import Table

if TYPE_CHECKING:
    from trackrun.store import Store

#: Default relative tolerance of "within tolerance".
DEFAULT_RTOL = 1e-4
IDENTICAL, WITHIN, DIFFERENT = "identical", "within tolerance", "different"
_TAG_SLUGS = {IDENTICAL: "identical", WITHIN: "within-tolerance", DIFFERENT: "different"}


@dataclass
class MetricDiff:
    """One metric of both runs: final values, points and the largest relative difference
    between values at the same step (None when the curves cannot be paired)."""

    key: str
    original: float | None
    reproduced: float | None
    points: tuple[int, int]
    max_rel_diff: float | None
    note: str = ""


@dataclass
class Verdict:
    """``verdict``: identical, within tolerance or different; ``reasons`` say why when not
    identical; ``max_rel_diff`` over every paired point; ``metrics`` per key."""

    verdict: str
    max_rel_diff: float | None
    rtol: float
    metrics: list[MetricDiff] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.verdict == WITHIN:
            return f"within tolerance (max rel. diff {self.max_rel_diff:.3g}, rtol {self.rtol:g})"
        if self.verdict == DIFFERENT and self.max_rel_diff is not None and self.max_rel_diff > 0:
            return f"different (max rel. diff {self.max_rel_diff:.3g}, rtol {self.rtol:g})"
        return self.verdict

    def to_text(self) -> str:
        """The final metrics side by side (when any were logged), each reason, the verdict."""
        lines = [self.table().format(max_rows=200)] if self.metrics else []
        lines += [f"  {reason}" for reason in self.reasons]
        lines.append(f"verdict: {self}")
        return "\n".join(lines)

    def table(self) -> Table:
        """Final metric values side by side."""
        return Table(
            {
                "metric": [m.key for m in self.metrics],
                "original": [m.original for m in self.metrics],
                "reproduced": [m.reproduced for m in self.metrics],
                "points": [f"{m.points[0]}/{m.points[1]}" for m in self.metrics],
                "max rel. diff": [m.max_rel_diff for m in self.metrics],
            }
        )


def relative_difference(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude; 0 for equal values (NaN equals NaN)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def _curves(table: Table) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for key, step, value in zip(table["key"], table["step"], table["value"], strict=True):
        out.setdefault(str(key), []).append((int(step), float(value)))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in out.items()}


def compare_runs(
    store: Store, original: str, reproduced: str, rtol: float = DEFAULT_RTOL
) -> Verdict:
    """The verdict of ``reproduced`` against ``original`` (both run ids in ``store``).

    identical: same metric keys, same steps, every value equal; within tolerance: the same
    but values differ by at most ``rtol`` relative; different otherwise (also when the
    reproduction did not finish). With no metric logged, the output logs are compared.
    """
    ours, theirs = _curves(store.metrics(original)), _curves(store.metrics(reproduced))
    reasons: list[str] = []
    status = store.summary(reproduced)["status"]
    if status != "finished":
        reasons.append(f"the reproduction ended {status}")
    metrics: list[MetricDiff] = []
    worst: float | None = None
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key, []), theirs.get(key, [])
        diff = MetricDiff(
            key, a[-1][1] if a else None, b[-1][1] if b else None, (len(a), len(b)), None
        )
        if not a or not b:
            diff.note = "only in the " + ("reproduction" if not a else "original")
        elif [s for s, _ in a] != [s for s, _ in b]:
            diff.note = f"different steps ({len(a)} vs {len(b)} points)"
        else:
            diff.max_rel_diff = max(
                relative_difference(x, y) for (_, x), (_, y) in zip(a, b, strict=True)
            )
            worst = diff.max_rel_diff if worst is None else max(worst, diff.max_rel_diff)
        if diff.note:
            reasons.append(f"{key}: {diff.note}")
        metrics.append(diff)
    if not ours and not theirs:
        same = _log(store, original) == _log(store, reproduced)
        if not same:
            reasons.append("no metric was logged and the outputs differ")
        worst = 0.0 if same else None
    if reasons or worst is None:
        verdict = DIFFERENT
    elif worst == 0.0:
        verdict = IDENTICAL
    elif worst <= rtol:
        verdict = WITHIN
    else:
        verdict = DIFFERENT
        reasons.append(f"values differ by up to {worst:.3g} relative (tolerance {rtol:g})")
    return Verdict(verdict, worst, rtol, metrics, reasons)


def _log(store: Store, run_id: str) -> bytes:
    try:
        return store.paths.run(run_id).output_log.read_bytes()
    except OSError:
        return b""


def record_verdict(store: Store, original: str, reproduced: str | None, verdict: Verdict) -> None:
    """Store the verdict on both runs: a ``reproduction`` event with the numbers, and a tag
    the index ingests (``reproduced:<verdict>`` on the original, ``reproduction:<verdict>``
    on the new run), in each run's ``events.api.jsonl`` as tags set through the API are.
    ``reproduced`` is None when the script started no run: only the original gets them."""
    fields: dict[str, Any] = {
        "original": original,
        "reproduction": reproduced,
        "verdict": verdict.verdict,
        "max_rel_diff": None
        if verdict.max_rel_diff is None
        else encode_number(verdict.max_rel_diff),
        "rtol": verdict.rtol,
        "reasons": verdict.reasons,
    }
    slug = _TAG_SLUGS[verdict.verdict]
    events: list[tuple[str, str, dict[str, Any]]] = []
    for run_id, prefix in ((original, "reproduced"), (reproduced, "reproduction")):
        if run_id is None:
            continue
        stale = [f"{prefix}:{s}" for s in _TAG_SLUGS.values() if s != slug]
        events.append((run_id, "reproduction", fields))
        events.append((run_id, "tags", {"add": [f"{prefix}:{slug}"], "remove": stale}))
    store.append_api_events(events)


def script_failed(returncode: int | None, log: Path, rtol: float) -> Verdict:
    """The verdict when reproduce.py started no run: ``different``, with the reason and the
    last lines of its output (its traceback, when it raised)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    tail = [line[:300] for line in lines if line.strip()][-8:]
    if returncode:
        status = "timed out" if returncode == 124 else f"exit status {returncode}"
        reason = f"the script failed before its run started ({status}): " + "\n".join(tail)
    else:
        reason = "the script finished without starting a run linked to the original"
    return Verdict(DIFFERENT, None, rtol, [], [reason])


def folder_log(folder: Path) -> Path:
    """Where ``--run`` writes the reproduction's console output."""
    return folder / "reproduce.log"
