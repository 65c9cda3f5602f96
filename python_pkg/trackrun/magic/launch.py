"""%%track_run --detach: freeze the cell, record a queued run, and submit it to a jobs backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from trackrun import jobs
from trackrun.cellcode import analyze_cell, auto_params
from trackrun.config import resolve_backend
from trackrun.errors import NotSerializableError, TrackrunError
from trackrun.magic.live import LiveView
from trackrun.magic.session import cell_id, notebook_path, write_code_files
from trackrun.run import Run


def run_detached(
    shell: Any, args: Any, cell: str, store_root: Path, explicit: dict[str, Any], line: str = ""
) -> None:
    """Start ``cell`` as a detached run and return at once, leaving a live view behind.

    Raises UsageError (nothing started, no run recorded) when the cell does not parse or
    reads values that cannot be sent to another process.
    """
    from trackrun.magic import show_run_bundle

    try:  # bad backend options are refused before anything is recorded
        slurm = args.slurm
        if slurm and len(slurm) > 1 and slurm[0] == slurm[-1] and slurm[0] in "'\"":
            slurm = slurm[1:-1]  # IPython's argument parsing keeps the quotes
        backend, slurm_options = resolve_backend(store_root, args.on, slurm)
        jobs.check_backend(store_root, backend, slurm_options)
    except TrackrunError as error:
        raise UsageError(str(error)) from None
    source = shell.transform_cell(cell)
    try:
        names = analyze_cell(source)
    except SyntaxError as error:
        raise UsageError(f"%%track_run --detach: the cell does not parse: {error}") from None
    try:
        frozen = jobs.freeze_inputs(shell.user_ns, names.free)
    except NotSerializableError as error:
        raise UsageError(str(error)) from None
    for warning in frozen.warnings:
        print(warning)
    params = {} if args.no_auto_params else auto_params(shell.user_ns, names.free)
    params.update(explicit)
    outputs = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else None
    notebook = notebook_path(shell)
    run = Run.start(
        store_root,
        name=args.name,
        params=params,
        tags=args.tag,
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
        },
        status="queued",
    )
    write_code_files(run.paths, cell, notebook, shell)
    jobs.write_job(run.paths, source, frozen, names.assigned, outputs, args.retries, args.gpu)
    run.release()
    try:
        jobs.submit(run.dir, backend, slurm_options)
    except TrackrunError as error:  # jobs.submit recorded the run failed
        raise UsageError(f"%%track_run --detach: run {run.run_id} not submitted: {error}") from None
    show_run_bundle(run)
    print(
        f"trackrun: detached run {run.name} ({run.run_id}); it goes on if you close the "
        f"browser or the kernel. Follow it with: %track_run --attach {run.run_id}"
    )
    view = LiveView(run.dir, run.name, follow_log=True)
    if view.show():
        view.start_following()
