"""%%track_run --detach: freeze the cell, record a queued run, and submit it to a jobs backend."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from trackrun import jobs
from trackrun.cellcode import analyze_cell, auto_params
from trackrun.config import resolve_backend
from trackrun.errors import NotSerializableError, TrackrunError
from trackrun.jobs import live_drainer, missing_in_server, remember
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
    backend, slurm_options = checked_backend(store_root, args)
    source = shell.transform_cell(cell)
    try:
        names = analyze_cell(source)
    except SyntaxError as error:
        raise UsageError(f"%%track_run --detach: the cell does not parse: {error}") from None
    refuse_frontend_magics(source, "--detach")
    try:
        frozen = jobs.freeze_inputs(shell.user_ns, names.free)
    except NotSerializableError as error:
        raise UsageError(str(error)) from None
    for warning in frozen.warnings:
        print(warning)
    params = {} if args.no_auto_params else auto_params(shell.user_ns, names.free)
    params.update(explicit)
    outputs = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else None
    notebook = notebook_path(shell, store_root)
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
    # The job runs the cell as typed, under IPython (it applies the same transformations).
    jobs.write_job(
        run.paths,
        cell,
        frozen,
        names.assigned,
        outputs,
        args.retries,
        args.gpu,
        capture_figures=not args.no_capture_figures,
    )
    remember(run.run_id, frozen.objects, [shell.user_ns[n] for n in frozen.names], run.dir)
    del frozen
    run.release()
    _warn_missing_secrets(store_root)
    try:
        jobs.submit(run.dir, backend, slurm_options)
    except TrackrunError as error:  # jobs.submit recorded the run failed
        raise UsageError(f"%%track_run --detach: run {run.run_id} not submitted: {error}") from None
    print(
        f"trackrun: detached run {run.name} ({run.run_id}); it goes on if you close the "
        f"browser or the kernel. Follow it with: %track_run --attach {run.run_id}"
    )
    view = LiveView(run.dir, run.name, follow_log=True)  # the cell's one display of the run
    view.show()
    view.start_following()


def checked_backend(store_root: Path, args: Any) -> tuple[str, dict[str, str]]:
    """The backend and sbatch options of a detached cell or a sweep: ``--on`` and ``--slurm``
    over the project config over ``local``.

    Raises UsageError, before anything is recorded, for what cannot apply: an unknown
    backend, ``--slurm`` text that does not parse, ``--slurm`` for a backend other than
    SLURM, SLURM tools missing here, a partition the cluster does not have.
    """
    slurm = args.slurm
    if slurm and len(slurm) > 1 and slurm[0] == slurm[-1] and slurm[0] in "'\"":
        slurm = slurm[1:-1]  # IPython's argument parsing keeps the quotes
    try:
        backend, slurm_options = resolve_backend(store_root, args.on, slurm)
        if slurm and backend != "slurm":
            raise TrackrunError(
                f"--slurm only applies to the SLURM backend, and this cell goes to {backend!r} "
                "(from --on or the project config); add --on slurm, or drop --slurm"
            )
        jobs.check_backend(store_root, backend, slurm_options)
    except TrackrunError as error:
        raise UsageError(str(error)) from None
    return backend, slurm_options


#: Magics that need the notebook frontend or the kernel: (magic, argument prefix or "").
_REFUSED: tuple[tuple[str, str, str], ...] = (
    ("matplotlib", "widget", "%matplotlib widget"),
    ("matplotlib", "ipympl", "%matplotlib ipympl"),
    ("matplotlib", "notebook", "%matplotlib notebook"),
    ("matplotlib", "nbagg", "%matplotlib nbagg"),
    ("run", "-i", "%run -i"),
    ("debug", "", "%debug"),
    ("pdb", "", "%pdb"),
    ("qtconsole", "", "%qtconsole"),
    ("connect_info", "", "%connect_info"),
)
_MAGIC_CALL = re.compile(r"get_ipython\(\)\.run_(?:line|cell)_magic\(\s*'(\w+)',\s*'([^']*)'")
_WIDGETS = re.compile(r"^\s*(?:import|from)\s+(ipywidgets|ipympl)\b", re.MULTILINE)


def refuse_frontend_magics(source: str, option: str) -> None:
    """Raise UsageError, before anything is launched, when the transformed cell ``source``
    uses magics or widgets a background job cannot run (``option``: how the cell was
    launched, e.g. ``--detach`` or ``--sweep``, named in the message)."""
    refused = refused_magics(source)
    if refused:
        raise UsageError(
            f"%%track_run {option}: this cell uses "
            + ", ".join(refused)
            + ", which need the notebook frontend or the kernel and cannot run in a "
            "background job. Move them to a cell of their own (run it in the notebook), or "
            f"run this cell without {option}; nothing was started."
        )


def refused_magics(source: str) -> list[str]:
    """The magics and widget imports in the transformed cell ``source`` that cannot run in
    a job (they need the notebook frontend or the kernel), as the user would write them."""
    found: list[str] = []
    for magic, argument in _MAGIC_CALL.findall(source):
        for name, prefix, shown in _REFUSED:
            if magic == name and argument.strip().startswith(prefix) and shown not in found:
                found.append(shown)
    for module in _WIDGETS.findall(source):
        found.append(f"widget display ({module})")
    return found


def _warn_missing_secrets(store_root: Path) -> None:
    """When the Jupyter server will launch the run, name the secrets the job will lack:
    set in this kernel but absent from the server's environment (kernels inherit it)."""
    drainer = live_drainer(store_root)
    if drainer is None:
        return
    missing = missing_in_server(os.environ, int(str(drainer.get("pid") or 0)))
    if missing:
        print(
            "trackrun: the Jupyter server launches this run, and its environment lacks "
            f"{', '.join(missing)} (set in this kernel only); the job will not have "
            f"{'it' if len(missing) == 1 else 'them'}. Set them before starting Jupyter."
        )
