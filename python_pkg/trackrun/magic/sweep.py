"""%%track_run --sweep: validate, freeze the cell once, queue one detached run per point, show
the sweep live; and ``%track_run --attach SWEEP``.

Everything that can be refused is refused before any run exists: the sweep grammar, names
the cell does not read, an empty grid, more than 10,000 points without ``--yes``, a cell
that does not parse or whose inputs cannot be frozen (reported once, not once per point).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from trackrun import jobs
from trackrun.cellcode import analyze_cell, auto_params
from trackrun.errors import NotSerializableError, TrackrunError
from trackrun.jobs import (
    Sweep,
    SweepError,
    SweepRecord,
    create_points,
    find_sweep,
    new_seed,
    new_sweep,
    parse_sweep,
    set_job_fields,
)
from trackrun.layout import StorePaths
from trackrun.magic.launch import checked_backend, refuse_frontend_magics
from trackrun.magic.session import cell_id, notebook_path, write_code_files
from trackrun.magic.sweep_view import SweepView
from trackrun.run import Run

_SWEEP_ONLY = ("sweep_random", "sweep_seed", "parallel", "sweep_metric", "yes")


def check_sweep_options(args: Any) -> None:
    """Refuse sweep options given without ``--sweep`` (UsageError); unquote the sweep text."""
    text = getattr(args, "sweep", None)
    if text and len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        args.sweep = text[1:-1]  # IPython's option splitter keeps the quotes
    if getattr(args, "sweep", None) is None:
        given = [o for o in _SWEEP_ONLY if getattr(args, o, None) not in (None, False)]
        if given:
            flags = ", ".join("--" + o.replace("_", "-") for o in given)
            raise UsageError(f"{flags} only apply with --sweep")
    if getattr(args, "parallel", None) is not None and args.parallel < 1:
        raise UsageError("%%track_run --parallel must be 1 or more")
    if getattr(args, "load", None) not in (None, "best"):
        raise UsageError("--load takes 'best' (load the best run's outputs of a sweep)")


def run_sweep(
    shell: Any, args: Any, cell: str, store_root: Path, explicit: dict[str, Any], line: str = ""
) -> SweepRecord:
    """Queue one detached run of ``cell`` per point of ``args.sweep`` and return at once.

    The sweep goes where a detached cell would (``--on``, ``--slurm``, the project config):
    on SLURM it is one job array with ``%parallel`` as its limit, and the store's queue is
    not involved. Raises UsageError, with nothing launched and no run recorded, for every
    refusal listed in the module docstring and for a backend that cannot take the runs.
    """
    sweep, total = _checked_sweep(args)
    backend, slurm_options = checked_backend(store_root, args)
    source = shell.transform_cell(cell)
    try:
        names = analyze_cell(source)
    except SyntaxError as error:
        raise UsageError(f"%%track_run --sweep: the cell does not parse: {error}") from None
    refuse_frontend_magics(source, "--sweep")
    _check_names_read(sweep, names.free)
    seed = None
    if sweep.random_axes:
        seed = args.sweep_seed if args.sweep_seed is not None else new_seed()
    points = sweep.expand(args.sweep_random, seed)
    try:
        frozen = jobs.freeze_inputs(shell.user_ns, names.free)
    except NotSerializableError as error:
        raise UsageError(str(error)) from None
    for warning in frozen.warnings:
        print(warning)
    # Swept names are inputs of every point even when the notebook never defined them.
    frozen.names = list(dict.fromkeys([*frozen.names, *sweep.names]))
    store = StorePaths(store_root)
    try:
        record = new_sweep(
            store,
            args.name,
            text=sweep.text,
            samples=args.sweep_random,
            seed=seed,
            parallel=args.parallel,
            metric=args.sweep_metric,
            goal=args.sweep_goal,
            backend=backend,
        )
    except TrackrunError as error:
        raise UsageError(f"%%track_run --sweep: {error}") from None
    params = {} if args.no_auto_params else auto_params(shell.user_ns, names.free)
    params.update(explicit)
    outputs = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else None
    notebook = notebook_path(shell, store_root)
    width = len(str(total))
    first = Run.start(
        store_root,
        name=f"{record.name}-{1:0{width}d}",
        params={**params, **points[0]},
        tags=[*args.tag, *record.tags],
        notebook=str(notebook) if notebook else None,
        cell_id=cell_id(shell),
        note=args.note,
        launch={
            "kind": "detached",
            "detached": True,
            "retries": args.retries,
            "gpu": args.gpu,
            "backend": backend,
            "magic": f"%%track_run {line}".strip(),
            "sweep": record.launch_entry(0),
        },
        status="queued",
    )
    write_code_files(first.paths, cell, notebook, shell)
    jobs.write_job(
        first.paths,
        source,
        frozen,
        names.assigned,
        outputs,
        args.retries,
        args.gpu,
        capture_figures=not args.no_capture_figures,
    )
    first.release()
    set_job_fields(
        first.paths,
        {"overrides": points[0], "sweep": record.sweep_id, "parallel": args.parallel},
    )
    runs = create_points(store, first.paths, record, points)
    record.save(store)
    try:
        handles = jobs.submit_many(
            [run.root for run in runs], args.parallel, backend, slurm_options
        )
    except TrackrunError as error:  # submit_many recorded every run failed
        raise UsageError(
            f"%%track_run --sweep: sweep {record.name} ({record.sweep_id}) not submitted: {error}"
        ) from None
    limit = f", at most {args.parallel} at once" if args.parallel else ""
    array = handles[0].ident.get("array_job_id") if handles else None
    where = (
        f" as SLURM job array {array}" if array else f" on {backend}" if backend != "local" else ""
    )
    print(
        f"trackrun: sweep {record.name} ({record.sweep_id}): {total} detached run"
        f"{'s' if total != 1 else ''} queued{where}{limit}. Follow it with: "
        f"%track_run --attach {record.name}"
    )
    view = SweepView(store, record)
    if view.show():
        view.start_following()
    return record


def _checked_sweep(args: Any) -> tuple[Sweep, int]:
    try:
        sweep = parse_sweep(args.sweep)
        total = sweep.check(args.sweep_random, confirmed=args.yes)
    except SweepError as error:
        raise UsageError(f"%%track_run --sweep: {error}") from None
    return sweep, total


def _check_names_read(sweep: Sweep, free: list[str]) -> None:
    for name in sweep.names:
        if name not in free:
            reads = ", ".join(sorted(free)) or "nothing"
            error = SweepError(
                f"the cell does not read {name!r} from the notebook, so sweeping it changes "
                f"nothing (the cell reads: {reads})",
                sweep.text,
                sweep.column_of(name),
            )
            raise UsageError(f"%%track_run --sweep: {error}")


# -- attaching to a sweep ---------------------------------------------------------------------
def sweep_of(store_root: Path, text: str) -> SweepRecord | None:
    """The sweep named or numbered ``text`` in the store, or None (then ``text`` is a run)."""
    if not text:
        return None
    return find_sweep(StorePaths(store_root), text)


def attach_sweep(shell: Any, record: SweepRecord, store_root: Path, load: str | None) -> None:
    """Follow a whole sweep until every run ended (Ctrl-C stops following, never the runs);
    then, with ``load == "best"``, load the best run's outputs into the namespace."""
    store = StorePaths(store_root)
    view = SweepView(store, record)
    live = view.show()
    last = ""
    try:
        while True:
            view.refresh()
            if not live and view.summary_text() != last:
                last = view.summary_text()
                print(last, flush=True)
            if view.done():
                break
            time.sleep(view.interval)
    except KeyboardInterrupt:
        view.stop()
        print(f"\ntrackrun: stopped following sweep {record.name}; its runs go on")
        return
    view.stop()
    if live:
        print(view.summary_text())
    if load == "best":
        best = view.best()
        if best is None:
            print("trackrun: no best run to load (no finished run logged the sweep's metric)")
            return
        print(f"trackrun: best run {best[0]} ({record.metric} = {best[1]:.6g})")
        from trackrun.magic.attach import load_into_kernel

        load_into_kernel(shell, store.run(best[0]), trust=False)
