"""%track_run --attach: show a run's log so far, follow it live, then load its outputs."""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from trackrun.errors import TrackrunError
from trackrun.jobs import attach_outputs, forget, prune_records
from trackrun.magic.live import LiveView, collapse_carriage_returns
from trackrun.magic.session import notebook_path
from trackrun.signing import UntrustedPickleError
from trackrun.store import Store

_CHUNK = 1 << 20


def attach(shell: Any, run: str, store: Path, load: bool = True, trust: bool = False) -> None:
    """Follow run ``run`` (id, prefix or name; empty: this notebook's newest running run)
    until it ends or the user interrupts (which detaches the view, never the run); then
    merge its saved outputs into the namespace unless ``load`` is False (``trust``: load
    outputs this store did not sign, e.g. a run copied from another store).

    The kernel's launch record of the run (what it merges into) is dropped once the run
    ended and nothing will be loaded: it failed, was killed, or ``load`` is False.
    """
    prune_records()
    index = Store(store)
    try:
        run_id = index.resolve(run) if run else _newest_running(index, shell)
        info = index.summary(run_id)
    except TrackrunError as error:
        raise UsageError(str(error)) from None
    finally:
        index.close()
    paths = index.paths.run(run_id)
    view = LiveView(paths.root, str(info["name"]))
    view.show()
    offset = _print_log_so_far(paths.output_log)
    try:
        while True:
            offset = _print_new_log(paths.output_log, offset)
            view.refresh()
            if not view.follower.active and view.follower.status_at:
                break
            time.sleep(view.interval)
        offset = _print_new_log(paths.output_log, offset)
    except KeyboardInterrupt:
        view.stop()
        print(f"\ntrackrun: stopped following {run_id}; the run goes on (attach again any time)")
        return
    view.stop()
    if load and view.follower.status == "finished":
        load_into_kernel(shell, paths, trust)
    else:  # never loaded: the record would only keep kernel objects alive
        forget(run_id)


def _newest_running(store: Store, shell: Any) -> str:
    notebook = notebook_path(shell, store.paths.root)
    runs = store.runs("status in (running, queued)")
    for row in runs:
        if notebook is None or row["notebook"] == str(notebook):
            return str(row["run_id"])
    where = f" of {notebook.name}" if notebook else ""
    raise UsageError(f"no running run{where} to attach to; give a run id: %track_run --attach RUN")


def _print_log_so_far(log: Path) -> int:
    try:
        data = log.read_bytes()
    except FileNotFoundError:
        return 0
    # The history is shown as a terminal would finally show it: a progress bar that
    # redrew itself thousands of times is one line.
    text = data.decode("utf-8", "replace")
    cut = text.rfind("\n") + 1
    sys.stdout.write(collapse_carriage_returns(text[:cut]) if cut else "")
    sys.stdout.flush()
    return len(text[:cut].encode("utf-8", "replace")) if cut else 0


def _print_new_log(log: Path, offset: int) -> int:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            data = f.read(_CHUNK)
    except FileNotFoundError:
        return offset
    if data:
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
    return offset + len(data)


def load_into_kernel(shell: Any, paths: Any, trust: bool) -> None:
    """Merge the run's outputs into the kernel: objects that existed at launch keep their
    identity and get the job's state; the rest is bound as loaded. Says what was rebound."""
    try:
        attached = attach_outputs(paths, shell.user_ns, trust=trust)
    except UntrustedPickleError as error:
        raise UsageError(
            f"{error}; `%track_run --attach {paths.run_id} --trust` loads them anyway "
            "(only if you trust where the run folder came from: loading runs its code)"
        ) from None
    if attached is None:
        return
    values, report, skipped = attached
    shell.user_ns.update(values)
    message = f"trackrun: loaded {', '.join(sorted(values)) or 'nothing'}"
    merged = [n for n in report.in_place if not isinstance(values[n], types.FunctionType)]
    if merged:
        message += f" (in place: {', '.join(merged)})"
    if report.rebound:
        message += "; rebound (could not merge in place, other references keep the old value): "
        message += ", ".join(f"{name} ({why})" for name, why in report.rebound)
    for note in dict.fromkeys(report.notes):
        message += f"; {note}"
    if skipped:
        message += "; not loaded: " + ", ".join(f"{s['name']} ({s['reason']})" for s in skipped)
    print(message)
