"""The live view of a sweep under its cell: progress counts, the best run so far, small curves.

It follows each run's own files (``RunFollower``), so it needs no index and costs the runs
nothing; ended runs are no longer read. One display updated in place in a kernel, text lines elsewhere.
"""

from __future__ import annotations

import html
import math
import threading
from typing import Any

from trackrun.jobs import SweepRecord
from trackrun.layout import StorePaths
from trackrun.magic.live import RunFollower, _in_kernel, _sparkline

#: Seconds between refreshes of a sweep's view.
REFRESH_INTERVAL = 1.0
#: Runs drawn as small curves (best first).
CURVES = 8
_FAILED = ("failed", "killed", "lost")


class SweepView:
    """Shows a sweep live below the current cell until ``stop()`` or until it ends."""

    def __init__(
        self, store: StorePaths, record: SweepRecord, interval: float = REFRESH_INTERVAL
    ) -> None:
        self.record = record
        self.interval = interval
        self.followers = {run_id: RunFollower(store.run(run_id).root) for run_id in record.run_ids}
        self._handle: Any = None
        self._last_html = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state ------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read what the unfinished runs appended since the last poll."""
        for follower in self.followers.values():
            if follower.active or not follower.status_at:
                follower.poll()

    def counts(self) -> dict[str, int]:
        """Runs per state: queued, running, done (finished) and failed (failed/killed/lost)."""
        out = dict.fromkeys(("queued", "running", "done", "failed"), 0)
        for follower in self.followers.values():
            status = follower.status
            key = "done" if status == "finished" else "failed" if status in _FAILED else status
            out[key if key in out else "queued"] += 1
        return out

    def done(self) -> bool:
        """True once every run of the sweep has ended."""
        return all(not f.active and f.status_at for f in self.followers.values())

    def best(self) -> tuple[str, float] | None:
        """``(run id, value)`` of the best run so far on the sweep's metric, or None."""
        metric = self.record.metric
        if not metric:
            return None
        scored = [
            (run_id, f.latest[metric])
            for run_id, f in self.followers.items()
            if metric in f.latest and math.isfinite(f.latest[metric]) and f.status not in _FAILED
        ]
        if not scored:
            return None
        pick = max if self.record.goal == "max" else min
        return pick(scored, key=lambda item: item[1])

    def summary_text(self) -> str:
        c = self.counts()
        text = (
            f"trackrun: sweep {self.record.name}: {c['queued']} queued, {c['running']} running, "
            f"{c['done']} done, {c['failed']} failed"
        )
        best = self.best()
        if best is not None:
            text += f"; best {self.record.metric} = {best[1]:.6g} ({best[0]})"
        return text

    # -- display ----------------------------------------------------------------------------
    def show(self) -> bool:
        """Display the view as one output updated in place (no widget, so a saved notebook
        keeps no widget state); True when it refreshes live (in a kernel), False when only
        text lines are printed instead (a terminal IPython)."""
        from IPython.display import display

        if not _in_kernel():
            return False
        self._last_html = self.render_html()
        self._handle = display(self._bundle(self._last_html), raw=True, display_id=True)
        return True

    def _bundle(self, html: str) -> dict[str, str]:
        return {"text/html": html, "text/plain": self.summary_text()}

    def start_following(self) -> None:
        """Refresh in the background until the sweep ends (the cell has returned)."""
        self._thread = threading.Thread(target=self._follow, name="trackrun-sweep", daemon=True)
        self._thread.start()

    def refresh(self) -> None:
        """Poll the runs and redraw the display now (when anything changed)."""
        self.poll()
        if self._handle is not None:
            rendered = self.render_html()
            if rendered != self._last_html:
                self._handle.update(self._bundle(rendered), raw=True)
                self._last_html = rendered

    def stop(self) -> None:
        """Stop refreshing; the same display shows the final state."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.poll()
        if self._handle is not None:
            self._handle.update(self._bundle(self.render_html()), raw=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
            if self.done():
                self.stop()
                return

    def render_html(self) -> str:
        c = self.counts()
        total = max(1, len(self.followers))
        bar = "".join(
            f"<span style='display:inline-block;height:8px;width:{c[key] / total * 200:.0f}px;"
            f"background:{color}' title='{key}'></span>"
            for key, color in (
                ("done", "var(--jp-success-color1, #388e3c)"),
                ("failed", "var(--jp-error-color1, #d32f2f)"),
                ("running", "var(--jp-brand-color1, #1976d2)"),
                ("queued", "var(--jp-layout-color3, #bdbdbd)"),
            )
        )
        best = self.best()
        best_html = (
            f" · best <b>{html.escape(str(self.record.metric))}</b> = {best[1]:.6g} "
            f"(<code>{html.escape(best[0])}</code>)"
            if best
            else ""
        )
        return (
            "<div class='trackrun-sweep' style='font-size:var(--jp-ui-font-size1);"
            "color:var(--jp-ui-font-color1)'>"
            f"<div><b>sweep {html.escape(self.record.name)}</b> "
            f"<code>{html.escape(self.record.sweep_id)}</code> · {c['queued']} queued · "
            f"{c['running']} running · {c['done']} done · {c['failed']} failed{best_html}</div>"
            f"<div style='margin:2px 0'>{bar}</div>{self._curves_html()}</div>"
        )

    def _curves_html(self) -> str:
        metric = self.record.metric or next(
            (k for f in self.followers.values() for k in f.latest), None
        )
        if metric is None:
            return ""
        ranked = [(run_id, f) for run_id, f in self.followers.items() if f.history.get(metric)]
        sign = -1.0 if self.record.goal == "max" else 1.0
        ranked.sort(key=lambda item: sign * item[1].latest.get(metric, math.inf))
        rows = "".join(
            f"<tr><td style='padding:0 8px 0 0'><code>{html.escape(run_id[-6:])}</code></td>"
            f"<td style='padding:0 8px 0 0'>{f.latest[metric]:.5g}</td>"
            f"<td>{_sparkline(f.history[metric], width=120, height=18)}</td></tr>"
            for run_id, f in ranked[:CURVES]
        )
        return f"<div>{html.escape(metric)}</div><table style='border-collapse:collapse'>{rows}</table>"
