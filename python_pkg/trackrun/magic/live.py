"""The live view of a run under a cell: status, elapsed time, latest metrics, sparklines, log tail.

It follows the run directory on disk (the same files any process writes), so it costs the
training loop nothing and refreshes at a fixed rate whatever the logging rate.

It is ONE display output, updated in place (``display_id``): its bundle carries the run's
``application/vnd.trackrun.run+json`` (JupyterLab's trackrun renderer takes it and follows
the run through the server), plus ``text/html`` and ANSI-free ``text/plain`` for frontends
without that renderer (classic Notebook, VS Code, nbconvert). No ipywidgets: a widget-view
in the same bundle would win over the renderer in JupyterLab (the widget renderer ranks
first there), and saved notebooks would carry widget state that renders nowhere offline.
At the end the same output becomes a static summary of the final state.
"""

from __future__ import annotations

import html
import math
import re
import threading
import time
from pathlib import Path
from typing import Any

from trackrun.events import decode_number, read_events
from trackrun.layout import RunPaths

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
#: Other control characters, which no text/plain output should carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: MIME type of the run bundle the panel renders (trackrun.magic.RUN_MIME_TYPE).
RUN_MIME_TYPE = "application/vnd.trackrun.run+json"
#: Seconds between refreshes of the view.
REFRESH_INTERVAL = 0.5
_MAX_POINTS = 400
_LOG_LINES = 30


class RunFollower:
    """Incrementally reads a run directory: status, timing, metrics and (optionally) its log."""

    def __init__(self, run_dir: Path, follow_log: bool = False) -> None:
        self.paths = RunPaths(run_dir)
        self.follow_log = follow_log
        self.status = "queued"
        self.status_at = 0.0
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.error: str | None = None
        self.attempt = 0
        self.latest: dict[str, float] = {}
        self.history: dict[str, list[tuple[int, float]]] = {}
        self.log = TerminalTail(_LOG_LINES)
        self._offsets: dict[str, int] = {}
        self._log_offset = 0

    def poll(self) -> bool:
        """Read what was appended since the last poll; True when anything changed."""
        changed = False
        for path in self.paths.event_files():
            events, offset, _ = read_events(path, self._offsets.get(path.name, 0))
            self._offsets[path.name] = offset
            for event in events:
                changed = True
                self._apply(event)
        if self.follow_log:
            changed = self._poll_log() or changed
        return changed

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.time()) - self.started_at

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "metrics":
            step = int(event["step"])
            for key, raw in event["values"].items():
                value = decode_number(raw)
                self.latest[key] = value
                series = self.history.setdefault(key, [])
                series.append((step, value))
                if len(series) > 2 * _MAX_POINTS:
                    del series[1::2]  # thin evenly; the sparkline needs the shape only
        elif kind == "status":
            when = float(event.get("time") or 0)
            if when < self.status_at:
                return
            self.status, self.status_at = str(event.get("status")), when
            if self.status == "running":
                self.started_at = self.started_at or when
                self.ended_at = None
            elif self.status not in ("queued",):
                self.ended_at = when
                self.error = event.get("error")
        elif kind == "attempt":
            self.attempt = int(event.get("attempt") or 0)

    def _poll_log(self) -> bool:
        try:
            with open(self.paths.output_log, "rb") as f:
                f.seek(self._log_offset)
                data = f.read(1 << 20)
        except FileNotFoundError:
            return False
        if not data:
            return False
        self._log_offset += len(data)
        self.log.write(data.decode("utf-8", "replace"))
        return True


class TerminalTail:
    """The last ``keep`` lines of a stream as a terminal would show them.

    A carriage return sends the cursor to the start of the line, so a progress bar that
    redraws itself thousands of times keeps only its latest state (memory stays bounded).
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.lines: list[str] = [""]
        self._at_line_start = False  # a "\r" was seen: the next text replaces the line

    def write(self, text: str) -> None:
        """Feed more of the stream."""
        for i, piece in enumerate(text.split("\n")):
            if i > 0:
                self.lines.append("")
                self._at_line_start = False
            if not piece:
                continue
            segments = piece.split("\r")
            for j, segment in enumerate(segments):
                if j > 0:
                    self._at_line_start = True
                if segment:
                    self.lines[-1] = segment if self._at_line_start else self.lines[-1] + segment
                    self._at_line_start = False
        del self.lines[: -self.keep]

    def text(self) -> str:
        """The kept lines, with terminal colour and cursor codes removed."""
        return _ANSI.sub("", "\n".join(self.lines))


def collapse_carriage_returns(text: str) -> str:
    """``text`` as a terminal would finally show it: each line keeps its last ``\\r`` state."""
    result = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p]
        result.append(parts[-1] if parts else "")
    return "\n".join(result)


class LiveView:
    """Shows a run live below the current cell, as one display output, until ``stop()``.

    ``updates`` counts the refreshes actually sent to the frontend (bounded by the refresh
    interval, whatever the logging rate).
    """

    def __init__(
        self, run_dir: Path, name: str, follow_log: bool = False, interval: float = REFRESH_INTERVAL
    ) -> None:
        self.follower = RunFollower(run_dir, follow_log=follow_log)
        self.name = name
        self.run_id = run_dir.name
        self.store = str(run_dir.parent.parent)
        self.interval = interval
        self.updates = 0
        self._handle: Any = None
        self._live = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_html = ""
        self._update_lock = threading.Lock()

    def bundle(self) -> dict[str, Any]:
        """The display's MIME bundle for the run's current state."""
        return {
            RUN_MIME_TYPE: {"run_id": self.run_id, "name": self.name, "store": self.store},
            "text/html": self._render_html(),
            "text/plain": self.summary_text(),
        }

    def show(self) -> bool:
        """Display the view; True when it refreshes live (in a kernel), False when only the
        final state will replace it (a terminal IPython, which would print every update)."""
        from IPython.display import display

        self.follower.poll()
        self._live = _in_kernel()
        bundle = self.bundle()
        self._last_html = bundle["text/html"]
        self._handle = display(bundle, raw=True, display_id=True)
        return self._live

    def start(self) -> None:
        """Refresh in a background thread every ``interval`` seconds until ``stop()``."""
        self._thread = threading.Thread(target=self._loop, name="trackrun-live", daemon=True)
        self._thread.start()

    def start_following(self) -> None:
        """Refresh in the background until the run ends, then show the final state: for a
        detached run, whose cell returns at once."""
        self._thread = threading.Thread(
            target=self._follow_to_end, name="trackrun-follow", daemon=True
        )
        self._thread.start()

    def refresh(self) -> None:
        """Read the run's files and update the display now (for callers with their own loop)."""
        self._refresh()

    def _follow_to_end(self) -> None:
        while not self._stop.wait(self.interval):
            self._refresh()
            if not self.follower.active and self.follower.status_at:
                self.stop()
                return

    def stop(self) -> None:
        """Stop refreshing; the same display becomes a static summary of the final state."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._update_lock:
            self.follower.poll()
            bundle = self.bundle()
            if self._handle is not None:
                self._handle.update(bundle, raw=True)
                self.updates += 1
            else:
                print(bundle["text/plain"])

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._refresh()

    def _refresh(self) -> None:
        with self._update_lock:
            if self._stop.is_set() and self._thread is not threading.current_thread():
                return
            if not self.follower.poll() and self.follower.status != "running":
                return
            if not self._live or self._handle is None:
                return
            bundle = self.bundle()
            if bundle["text/html"] != self._last_html:
                self._handle.update(bundle, raw=True)
                self._last_html = bundle["text/html"]
                self.updates += 1

    # -- rendering ------------------------------------------------------------------------
    def summary_text(self) -> str:
        """One line of plain text: no ANSI codes or control characters, whatever the names."""
        f = self.follower
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(f.latest.items())[:8])
        text = (
            f"trackrun: run {self.name} ({self.run_id}) {f.status} after {_elapsed(f.elapsed())}"
            + (f": {metrics}" if metrics else "")
        )
        return _CONTROL.sub("", _ANSI.sub("", text))

    def _render_html(self) -> str:
        f = self.follower
        rows = "".join(
            "<tr>"
            f"<td style='padding:0 8px 0 0'>{html.escape(key)}</td>"
            f"<td style='padding:0 8px 0 0;font-family:var(--jp-code-font-family)'>{_fmt(value)}</td>"
            f"<td>{_sparkline(f.history.get(key, []))}</td>"
            "</tr>"
            for key, value in list(f.latest.items())[:12]
        )
        log = ""
        if f.follow_log and any(f.log.lines):
            log = (
                "<pre style='max-height:12em;overflow:auto;margin:4px 0 0 0;"
                "font-size:var(--jp-code-font-size)'>" + html.escape(f.log.text()) + "</pre>"
            )
        attempt = f" · attempt {f.attempt}" if f.attempt > 1 else ""
        return (
            "<div class='trackrun-live' style='font-size:var(--jp-ui-font-size1);"
            "color:var(--jp-ui-font-color1)'>"
            f"<div><b>{html.escape(self.name)}</b> "
            f"<code>{html.escape(self.run_id)}</code> · "
            f"<span class='trackrun-status-{html.escape(f.status)}'>{html.escape(f.status)}</span>"
            f" · {_elapsed(f.elapsed())}{attempt}</div>"
            f"<table style='border-collapse:collapse'>{rows}</table>{log}</div>"
        )


def _in_kernel() -> bool:
    """True in a Jupyter kernel (a frontend can update displays in place)."""
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _fmt(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.5g}"


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _sparkline(points: list[tuple[int, float]], width: int = 140, height: int = 22) -> str:
    finite = [(s, v) for s, v in points if math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) == 1 or len({s for s, _ in finite}) == 1:
        # One point: a dot, not empty axes (a line needs two steps).
        return (
            f"<svg width='{width}' height='{height}' style='vertical-align:middle'>"
            f"<circle class='trackrun-dot' cx='{width / 2:.1f}' cy='{height / 2:.1f}' r='3' "
            "fill='var(--jp-brand-color1, #1976d2)'/></svg>"
        )
    steps = [s for s, _ in finite]
    values = [v for _, v in finite]
    lo_s, hi_s = min(steps), max(steps)
    lo_v, hi_v = min(values), max(values)
    span_s = (hi_s - lo_s) or 1
    span_v = (hi_v - lo_v) or 1
    coords = " ".join(
        f"{(s - lo_s) / span_s * (width - 2) + 1:.1f},{height - 1 - (v - lo_v) / span_v * (height - 2):.1f}"
        for s, v in finite
    )
    return (
        f"<svg width='{width}' height='{height}' style='vertical-align:middle'>"
        f"<polyline fill='none' stroke='var(--jp-brand-color1, #1976d2)' stroke-width='1.5' "
        f"points='{coords}'/></svg>"
    )
