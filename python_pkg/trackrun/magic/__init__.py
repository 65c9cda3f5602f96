"""The %track_run / %%track_run magics: option parsing and orchestration of tracked cells.

``%load_ext trackrun`` registers them. The cell runs in the kernel as usual while a run
records its code, parameters, provenance, output and outcome.
"""

from __future__ import annotations

import ast
import contextlib
import shlex
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from trackrun.cellcode import CellNames, analyze_cell, auto_params, final_scalars
from trackrun.layout import OutputLog, default_store_root
from trackrun.magic.figures import FigureCapture
from trackrun.magic.live import LiveView
from trackrun.magic.outputs import TeeStream
from trackrun.magic.session import cell_id, notebook_path, write_code_files
from trackrun.run import Run
from trackrun.values import normalize_params

#: MIME type of the small bundle that lets the JupyterLab panel render a run from a saved notebook.
RUN_MIME_TYPE = "application/vnd.trackrun.run+json"

_HELP_EXAMPLES = """
Examples::

    %%track_run
    for epoch in range(epochs):           # `epochs`, `lr` from earlier cells become params
        trackrun.log(loss=train(lr), step=epoch)

    %%track_run --name resnet-baseline --tag sweep --param seed=3 --note "wider head"
    ...

    %%track_run --detach --retries 2      # run in a background process; survives the browser
    ...

    %track_run --attach 20261126-031302-7f3a9c   # follow a detached run, then load its outputs
"""


@magics_class
class TrackRunMagics(Magics):
    """Holds the ``track_run`` magic."""

    @magic_arguments()
    @argument("--name", help="run name (default: a generated one like brisk-otter-42)")
    @argument("--tag", action="append", default=[], help="tag (repeatable)")
    @argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="parameter, value read as a Python literal (repeatable); wins over auto params",
    )
    @argument("--note", help="free-text note stored with the run")
    @argument("--store", help="run store folder (default: .trackrun/ at the git root)")
    @argument(
        "--no-auto-params",
        action="store_true",
        help="do not record the simple values the cell reads from the notebook as params",
    )
    @argument(
        "--no-capture-figures",
        action="store_true",
        help="do not log the figures the cell displays (plt.show(), display(fig)) as media",
    )
    @argument("--detach", action="store_true", help="run the cell in a background process")
    @argument("--retries", type=int, default=0, help="with --detach: restarts after a failure")
    @argument(
        "--gpu",
        help="with --detach: CUDA_VISIBLE_DEVICES for the job, e.g. 0 or 0,1; 'auto': the "
        "Jupyter server assigns a free GPU (runs wait for one)",
    )
    @argument("--outputs", help="with --detach: names to bring back (default: all it assigns)")
    @argument(
        "--on",
        metavar="BACKEND",
        help="with --detach or --sweep: where the jobs run: local or slurm (default: the "
        "project config's backend, else local); a sweep on slurm is one job array",
    )
    @argument(
        "--slurm",
        metavar='"K=V ..."',
        help='with --detach or --sweep, on slurm: sbatch options, e.g. "partition=gpu '
        "gres=gpu:1 time=04:00:00\" (over the project config's [slurm] table)",
    )
    @argument(
        "--attach",
        nargs="?",
        const="",
        default=None,
        metavar="RUN",
        help="(line magic) follow a run live, then load its outputs; no id: newest running",
    )
    @argument("--no-load", action="store_true", help="with --attach: do not load outputs")
    @argument(
        "--reproduce",
        metavar="RUN",
        help="(line magic) insert RUN's reproduction script (its slice) as a new cell below",
    )
    @argument(
        "--trust",
        action="store_true",
        help="with --attach: load outputs this store did not sign (a run copied from "
        "another store); loading a pickle runs its code",
    )
    @argument("--sweep", help='one detached run per point, e.g. "lr=[1e-3, 1e-2] seed=range(3)"')
    @argument("--sweep-random", type=int, metavar="N", help="with --sweep: N random draws")
    @argument("--sweep-seed", type=int, help="with --sweep-random: seed, for the same points")
    @argument("--parallel", type=int, metavar="N", help="with --sweep: at most N runs at once")
    @argument("--sweep-metric", metavar="KEY", help="with --sweep: the metric that ranks runs")
    @argument("--sweep-goal", choices=["max", "min"], default="max", help="with --sweep-metric")
    @argument("--yes", action="store_true", help="with --sweep: allow more than 10,000 points")
    @argument("--load", metavar="best", help="with --attach SWEEP: load the best run's outputs")
    @line_cell_magic
    def track_run(self, line: str, cell: str | None = None) -> Any:
        """Track a cell as a run in the trackrun store (code, params, environment, metrics,
        output, outcome); or, as a line magic with --attach, follow a run."""
        args = _parse(line)
        if cell is None and args.reproduce:
            from trackrun.reproduction import slice_text

            shell: Any = self.shell
            shell.set_next_input(slice_text(args.reproduce, store=_store_root(args)))
            return None
        from trackrun.magic.sweep import check_sweep_options, sweep_of

        check_sweep_options(args)
        if cell is None and args.attach and (sweep := sweep_of(_store_root(args), args.attach)):
            from trackrun.magic.sweep import attach_sweep

            return attach_sweep(self.shell, sweep, _store_root(args), args.load)
        if cell is None:
            if args.attach is None:
                raise UsageError(
                    "%track_run needs --attach RUN as a line magic; to track a cell, use "
                    "%%track_run (two percent signs) on its first line"
                )
            from trackrun.magic.attach import attach

            return attach(
                self.shell,
                args.attach,
                store=_store_root(args),
                load=not args.no_load,
                trust=args.trust,
            )
        if args.attach is not None:
            raise UsageError("--attach is a line magic option: use `%track_run --attach RUN`")
        if args.sweep is not None:
            from trackrun.magic.sweep import run_sweep

            return run_sweep(
                self.shell, args, cell, _store_root(args), _explicit_params(args), line
            )
        if args.detach:
            from trackrun.magic.launch import run_detached

            return run_detached(
                self.shell, args, cell, _store_root(args), _explicit_params(args), line
            )
        if args.retries or args.gpu or args.outputs or args.on or args.slurm:
            raise UsageError(
                "--retries, --gpu, --outputs, --on and --slurm only apply with --detach or --sweep"
            )
        return run_inline(self.shell, args, cell, line)


TrackRunMagics.track_run.__doc__ = (TrackRunMagics.track_run.__doc__ or "") + _HELP_EXAMPLES


def _parse(line: str) -> Any:
    try:
        argv = shlex.split(line)  # quoting as in a shell: --name "my run", --param m="a b"
    except ValueError as error:
        raise UsageError(f"%%track_run: cannot read the options ({error})") from None
    try:
        args = TrackRunMagics.track_run.parser.parse_args(argv)
    except SystemExit:  # argparse exits on some errors: turn them into a UsageError
        raise UsageError(f"%%track_run: invalid options: {line}") from None
    if args.retries < 0:
        raise UsageError("%%track_run --retries must be 0 or more")
    _explicit_params(args)
    return args


def _explicit_params(args: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if (
            not sep
            or not key.isidentifier()
            and not key.replace(".", "_").replace("/", "_").isidentifier()
        ):
            raise UsageError(f"%%track_run --param {item!r}: write it as NAME=VALUE, e.g. lr=1e-3")
        params[key] = _literal(key, raw.strip())
    try:
        return normalize_params(params)
    except TypeError as error:
        raise UsageError(f"%%track_run --param: {error}") from None


def _literal(key: str, raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if raw[:1] in "[({'\"" or not raw:
            raise UsageError(
                f"%%track_run --param {key}={raw}: not a valid Python literal; quote strings "
                f'or fix the brackets, e.g. --param {key}="text"'
            ) from None
        return raw  # a bare word such as adam is a string


def _store_root(args: Any) -> Path:
    return Path(args.store).expanduser().resolve() if args.store else default_store_root()


# -- inline runs ----------------------------------------------------------------------------
class _RecordedError(Exception):
    """Marker: the cell's own traceback was already shown to the user."""


def run_inline(shell: Any, args: Any, cell: str, line: str = "") -> Any:
    """Run ``cell`` in the kernel as a tracked run; re-raise its error after recording it."""
    names = _analyze(shell, cell)
    params = {} if args.no_auto_params else auto_params(shell.user_ns, names.free)
    params.update(_explicit_params(args))
    store_root = _store_root(args)
    notebook = notebook_path(shell, store_root)
    run = Run.start(
        store_root,
        name=args.name,
        params=params,
        tags=args.tag,
        notebook=str(notebook) if notebook else None,
        cell_id=cell_id(shell),
        note=args.note,
        launch={"kind": "inline", "magic": f"%%track_run {line}".strip()},
    )
    write_code_files(run.paths, cell, notebook, shell)
    view = LiveView(run.dir, run.name)
    view.show()
    view.start()
    result = None
    shown: list[Any] = []
    figures = None if args.no_capture_figures else FigureCapture(shell, run).start()
    try:
        with _tee_output(run.paths.output_log), _traceback_held(shell, shown):
            result = shell.run_cell(cell, store_history=False)
    finally:
        if figures is not None:
            figures.stop()
        error = None if result is None else (result.error_before_exec or result.error_in_exec)
        if result is None:
            run.finish("killed", error="interrupted before the cell finished")
        elif error is None:
            if not run.logged_metric_keys():
                scalars = final_scalars(shell.user_ns, names.assigned)
                if scalars:
                    run.log(scalars, step=0)
            run.finish("finished")
        elif isinstance(error, KeyboardInterrupt):
            run.finish("killed", error="KeyboardInterrupt")
        else:
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            run.finish("failed", error=text)
        view.stop()
    if error is not None:
        # The inner run's traceback was held back; re-raising shows it once, as the cell's
        # own error, and the cell counts as failed (nbclient and "run all" stop).
        if shown:
            error._render_traceback_ = lambda: shown[-1]
        raise error
    # The inner run already displayed the final expression: returning it would show it twice.
    return None


@contextlib.contextmanager
def _traceback_held(shell: Any, shown: list[Any]) -> Iterator[None]:
    """Hold back the traceback the inner ``run_cell`` would show; keep its text in ``shown``."""
    if not hasattr(shell, "_showtraceback"):
        yield
        return

    def hold(etype: Any, evalue: Any, stb: Any) -> None:
        shown.append(stb)

    shell._showtraceback = hold
    try:
        yield
    finally:
        del shell._showtraceback


def _analyze(shell: Any, cell: str) -> CellNames:
    try:
        return analyze_cell(shell.transform_cell(cell))
    except SyntaxError:
        return CellNames()


def show_run_bundle(run: Run) -> None:
    """Display the run's MIME bundle (the panel renders it; text elsewhere)."""
    from IPython.display import display

    display(
        {
            RUN_MIME_TYPE: {"run_id": run.run_id, "name": run.name, "store": str(run.store_root)},
            "text/plain": f"trackrun run {run.name} ({run.run_id})",
        },
        raw=True,
    )


@contextlib.contextmanager
def _tee_output(log_path: Path) -> Iterator[None]:
    log = OutputLog.open(log_path)
    saved = sys.stdout, sys.stderr
    sys.stdout = TeeStream(saved[0], log)
    sys.stderr = TeeStream(saved[1], log)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        log.close()


def load_ipython_extension(shell: Any, api: Any = None) -> None:
    """Register the magics; bind ``api`` (the ``trackrun`` package, handed down by its
    ``load_ipython_extension``) as ``trackrun`` in the namespace, as the README shows."""
    shell.register_magics(TrackRunMagics)
    if api is not None:
        shell.push({"trackrun": api})


__all__ = ["RUN_MIME_TYPE", "TrackRunMagics", "load_ipython_extension"]
