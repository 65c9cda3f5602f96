"""The public Python API: start runs, log metrics and params, checkpoints, and query the store."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.checkpoints import Checkpoint
from trackrun.errors import NoActiveRunError
from trackrun.layout import default_store_root
from trackrun.run import Run, active_run
from trackrun.store import registry
from trackrun.table import Table
from trackrun.values import check_note, check_run_name

if TYPE_CHECKING:
    from trackrun.codediff import CodeDiff
    from trackrun.comparison import Comparison
    from trackrun.reproduction import Reproduction
    from trackrun.store import Store

#: Set in a detached job's environment: the run directory the job logs into.
RUN_DIR_ENV = "TRACKRUN_RUN_DIR"
_stores: dict[Path, Store] = registry.stores  # the registry's own (tests close them all)


def start_run(
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    *,
    note: str | None = None,
    store: str | os.PathLike[str] | None = None,
    reproduces: str | None = None,
) -> Run:
    """Start a run and make it the current one; returns the Run.

    Use ``with trackrun.start_run(...) as run:`` (finished, failed or killed on exit), or call
    it plainly and end with ``trackrun.finish()``. ``store`` defaults to ``$TRACKRUN_HOME``,
    else ``.trackrun/`` at the root of the enclosing git repository, else ``./.trackrun``.
    ``reproduces``: the id of the run this one re-runs (written by ``trackrun reproduce``).
    """
    root = Path(store).expanduser().resolve() if store else default_store_root()
    return Run.start(root, name=name, params=params, tags=tags, note=note, reproduces=reproduces)


def current_run() -> Run | None:
    """The run this process logs to: the innermost started one, or a detached job's run."""
    run = active_run()
    if run is None and os.environ.get(RUN_DIR_ENV):
        run = Run.attach(Path(os.environ[RUN_DIR_ENV]))
    return run


def _require_run(what: str) -> Run:
    run = current_run()
    if run is None:
        raise NoActiveRunError(
            f"trackrun.{what}: no active run; start one with `with trackrun.start_run():` "
            "or put %%track_run on the cell"
        )
    return run


def log(metrics: Mapping[str, Any] | None = None, step: int | None = None, **kwargs: Any) -> None:
    """Log metric values: ``log(loss=0.3, acc=0.9, step=10)`` or ``log({"val/acc": 0.9}, step=10)``.

    ``step`` defaults to a per-key counter. Values: numbers, numpy scalars, 0-d tensors;
    anything else raises TypeError naming the key.
    """
    run = active_run() or _require_run("log")
    if metrics is not None:
        if kwargs:
            metrics = {**metrics, **kwargs}
        run.log(metrics, step)
    else:
        run.log(kwargs, step)


def log_params(params: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Record parameters of the current run: ``log_params(lr=1e-3)`` or ``log_params({...})``."""
    _require_run("log_params").log_params({**(params or {}), **kwargs})


def artifact(path: str | os.PathLike[str], name: str | None = None) -> Path:
    """Copy a file into the current run's artifacts (sha256 recorded); returns the stored path."""
    return _require_run("artifact").artifact(path, name)


def log_image(key: str, image: Any, step: int | None = None) -> Path:
    """Log an image of the current run as ``media/KEY/STEP.png``; returns the PNG's path.

    ``image``: a PIL image, a numpy array or torch tensor (HW, HWC or CHW; uint8, or floats
    in [0, 1]), a matplotlib figure, or PNG bytes; ``step`` defaults to the key's next one.
    Raises TypeError or ValueError naming the fix (nothing is written then).
    """
    return _require_run("log_image").log_image(key, image, step)


def log_figure(key: str, figure: Any, step: int | None = None) -> Path:
    """Log a matplotlib figure as ``log_image`` does, also keeping its SVG when it is small."""
    return _require_run("log_figure").log_figure(key, figure, step)


def checkpoint(obj: Any, step: int, keep: int = 3) -> Path:
    """Save a checkpoint of ``obj`` at ``step`` in the current run, keeping the newest ``keep``."""
    return _require_run("checkpoint").checkpoint(obj, step, keep)


def resume() -> Checkpoint | None:
    """The newest checkpoint of the current run (``.step``, ``.state``), or None to start fresh."""
    return _require_run("resume").latest_checkpoint()


def finish(status: str = "finished") -> None:
    """End the current run with ``status`` (finished, failed or killed)."""
    _require_run("finish").finish(status)


def tag(*tags: str) -> None:
    """Add tags to the current run."""
    _require_run("tag").add_tags(tags)


# -- queries ----------------------------------------------------------------------------------
def get_store(store: str | os.PathLike[str] | Store | None = None) -> Store:
    """The Store at ``store`` (default store when None), shared within this process; a Store
    passed in is returned as is."""
    return registry.get_store(store)


def runs(
    filter: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
) -> Table:
    """Runs matching ``filter`` with params and summary metrics (last/min/max), as a Table.

    ``filter`` uses the filter language, e.g. ``'status = finished and params.lr < 1e-3'``;
    ``order_by`` e.g. ``'metrics.val_acc desc'``. Convert with ``.to_pandas()`` or
    ``.to_duckdb()``. Raises FilterError pointing at the column of a malformed filter.
    """
    return get_store(store).runs(filter, order_by, limit)


def metrics(
    run_ids: str | list[str],
    keys: str | list[str] | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
) -> Table:
    """Long-format metric history ``(run_id, key, step, value, wall_time)`` of the given runs."""
    key_list = [keys] if isinstance(keys, str) else keys
    return get_store(store).metrics(run_ids, key_list)


def sql(query: str, *, store: str | os.PathLike[str] | None = None) -> Table:
    """Run ad-hoc DuckDB SQL over the index (tables runs, params, tags, metrics, metric_summary,
    artifacts); for local use only."""
    return get_store(store).sql(query)


def kill(
    run: str, *, store: str | os.PathLike[str] | Store | None = None, timeout: float | None = None
) -> str:
    """Stop a queued or running run and wait until it is recorded as killed; returns its id.

    A detached run's whole process tree is stopped through its jobs backend (SIGTERM, then
    SIGKILL after a grace period) and recorded ``killed`` (no retry). An inline run is
    interrupted like Ctrl-C. Raises RunStateError when the run has already ended.
    """
    from trackrun import jobs

    return jobs.kill(get_store(store), run, timeout)


def rename(run: str, name: str, *, store: str | os.PathLike[str] | Store | None = None) -> str:
    """Rename run ``run`` (an id, unique id prefix or name) to ``name``; returns its id.

    The name is stripped and must be 1-200 characters without control characters, else
    InvalidTextError (a ValueError) says why and nothing is written. Raises RunNotFoundError
    or AmbiguousRunIdError for ``run``. The rename is an event in the run's folder, so it
    survives ``trackrun reindex`` and travels with the folder.
    """
    return _edit_run(run, store, "rename", name=check_run_name(name))


def set_note(run: str, text: str, *, store: str | os.PathLike[str] | Store | None = None) -> str:
    """Set the note of run ``run`` (an id, unique id prefix or name) to ``text``; returns its id.

    ``""`` clears the note. The text is stripped and may hold newlines and tabs, up to 10,000
    characters; other control characters raise InvalidTextError (a ValueError), and nothing
    is written. Raises RunNotFoundError or AmbiguousRunIdError for ``run``. Stored as an event
    in the run's folder, like ``rename``.
    """
    return _edit_run(run, store, "note", note=check_note(text))


def _edit_run(
    run: str, store: str | os.PathLike[str] | Store | None, kind: str, **fields: str
) -> str:
    """Append one edit event to the run's API events file and index it at once."""
    opened = get_store(store)
    run_id = opened.resolve(run)
    opened.append_api_events([(run_id, kind, fields)])
    return run_id


def compare(
    runs_or_filter: str | list[str],
    metrics: list[str] | None = None,
    group_by: list[str] | None = None,
    *,
    goal: str | None = None,
    store: str | os.PathLike[str] | None = None,
) -> Comparison:
    """Compare runs: params that differ, final metrics, metric curves; with ``group_by``,
    per-group mean ± sd and Welch's t-test of the best group (toward ``goal``, ``"max"`` or
    ``"min"``) against the runner-up. ``runs_or_filter``: run ids/prefixes/names, one run,
    or a filter such as ``"tag:sweep and status = finished"``; for ``"sweep:NAME"`` the
    sweep's own metric and goal stand for ``metrics`` and ``goal`` not given. Raises
    RunNotFoundError, FilterError or TrackrunError (unknown metric or group key, bad goal)."""
    from trackrun.comparison import compare as build

    return build(runs_or_filter, metrics, group_by, store=store, goal=goal)


def diff(a: str, b: str, *, store: str | os.PathLike[str] | None = None) -> CodeDiff:
    """Unified diff of two runs' cell code and notebook text, and their package changes."""
    from trackrun.codediff import diff as build

    return build(a, b, store=store)


def reproduce(
    source: str,
    /,
    out: str | os.PathLike[str] | None = None,
    *,
    run: bool = False,
    force: bool = False,
    rtol: float = 1e-4,
    timeout: float | None = None,
    store: str | os.PathLike[str] | None = None,
) -> Reproduction:
    """Turn run ``source`` back into a standalone folder (reproduce.py, requirements.txt,
    git.patch, README.md, inputs.md) at ``out``; with ``run=True``, also run it in a fresh
    process and compare (verdict identical, within tolerance or different, stored on both
    runs). Raises RunNotFoundError or TrackrunError (no recorded code, non-empty ``out``)."""
    from trackrun.reproduction import reproduce as build

    return build(source, out, run=run, force=force, rtol=rtol, timeout=timeout, store=store)
