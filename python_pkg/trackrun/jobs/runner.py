"""The job process: runs a frozen cell (under IPython) in its run, then saves its outputs.

Started by the supervisor as ``python -c 'from trackrun.jobs.runner import main; main()' RUN_DIR``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from trackrun import liveness
from trackrun.cellcode import final_scalars
from trackrun.event_writer import flush_all_writers
from trackrun.jobs.freeze import read_spec, save_outputs, store_root_of
from trackrun.jobs.graph import load_graph, track_optimizer_steps
from trackrun.layout import OutputLog, RunPaths
from trackrun.redaction import RedactingStream
from trackrun.run import Run, active_run
from trackrun.signing import read_verified


def run_job(run_dir: Path) -> int:
    """Run the frozen cell of ``run_dir`` in this process; returns the exit status.

    The cell runs under an IPython ``InteractiveShell`` (no kernel) whose namespace is the
    one graph of inputs; notebook functions have that namespace as their globals. Logs go to
    the run (``TRACKRUN_RUN_DIR``); on success the outputs are saved as one signed graph
    (``job/outputs.pkl``). Inputs whose signature does not check out are not unpickled: the
    job fails. On an exception the traceback goes to the output log and ``job/error.txt``.
    ``sys.exit(n)`` in the cell ends the job with status ``n`` (0 or None: finished).
    """
    paths = RunPaths(run_dir)
    _exit_with_supervisor(paths)  # first: the supervisor may die while this job still starts
    _redirect_output()
    spec = read_spec(paths)
    sys.path[:0] = [p for p in spec["sys_path"] if p not in sys.path]
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    if os.environ.get("TRACKRUN_BACKEND") == "slurm":
        _sigterm_flushes_only()  # before Run.attach, whose handler would record `killed`
    run = Run.attach(run_dir)
    try:
        payload = read_verified(paths.job / "inputs.pkl", store_root_of(paths), "inputs")
        inputs, memo = load_graph(payload, namespace)
        track_optimizer_steps(memo.values())
    except Exception as error:  # a refused or broken input pickle: nothing ran
        _record_error(paths, error, show=True)
        run.release()
        return 1
    namespace.update(inputs)
    origins = {id(obj): index for index, obj in memo.items()}
    namespace.update(spec.get("overrides") or {})  # params changed for a rerun
    source = (paths.job / "source.py").read_text(encoding="utf-8")
    bound_before = {name: id(value) for name, value in namespace.items()}
    if spec.get("runs_under") == "ipython":
        failure = run_in_shell(
            source, namespace, paths, capture_figures=spec.get("capture_figures", True)
        )
    else:  # a job frozen before jobs ran under IPython: plain Python source
        failure = _run_plain(source, namespace, paths)
    if isinstance(failure, SystemExit):
        code = _exit_code(failure)
        if code:
            _record_error(paths, failure, show=False)
            run.release()
            return code
    elif failure is not None:
        _record_error(paths, failure, show=False)
        run.release()
        return 130 if isinstance(failure, KeyboardInterrupt) else 1
    if not run.logged_metric_keys():
        scalars = final_scalars(namespace, spec["assigned"])
        if scalars:
            run.log(scalars, step=0)
    # Names bound in ways the cell's text does not show (``%time x = ...``, ``globals()``)
    # come back too, as they would be there after an inline run.
    rebound = [
        name
        for name, value in namespace.items()
        if bound_before.get(name) != id(value) and not _SHELL_NAMES.fullmatch(name)
    ]
    save_outputs(paths, namespace, {**spec, "assigned": [*spec["assigned"], *rebound]}, origins)
    run.release()
    return 0


def run_in_shell(
    source: str, namespace: dict[str, Any], paths: RunPaths, capture_figures: bool = True
) -> BaseException | None:
    """Run the raw cell ``source`` in an IPython ``InteractiveShell`` over ``namespace``
    (magics, ``!cmd``, the same input transformations as the notebook); returns its error.

    The shell shows a traceback itself (into the output log). Rich displays land in the
    run: images as files under ``artifacts/``, anything else as its text/plain form; with
    ``capture_figures``, PNG figures are also logged as the run's media (``figure-N``).
    """
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no shared history database among jobs
    config.InteractiveShell.colors = "NoColor"
    shell = InteractiveShell.instance(user_ns=namespace, config=config)
    shell.display_pub = _display_publisher(paths.artifacts, capture_figures)(
        parent=shell, shell=shell
    )
    # A terminal shell formats text only; the job keeps images (saved as artifacts).
    formatter: Any = shell.display_formatter
    formatter.active_types = list(formatter.formatters)
    if "matplotlib" in source or "plt." in source:
        with contextlib.suppress(Exception):  # figures as PNG when matplotlib is there
            from IPython.core.pylabtools import select_figure_formats

            select_figure_formats(shell, {"png"})  # type: ignore[no-untyped-call]
    result = shell.run_cell(source, store_history=False)  # type: ignore[no-untyped-call]
    error: BaseException | None = result.error_before_exec or result.error_in_exec
    return error


def _display_publisher(folder: Path, capture_figures: bool) -> type:
    """The display publisher of a job (IPython is imported only once the cell runs)."""
    from IPython.core.displaypub import DisplayPublisher

    class RunDisplayPublisher(DisplayPublisher):
        """Displays of a job: images saved as run artifacts, the rest printed as text."""

        folder: Path | None = None
        count = 0
        figures = 0

        def publish(
            self, data: dict[str, Any], metadata: Any = None, *args: Any, **kwargs: Any
        ) -> None:
            try:
                for mime, suffix in _IMAGE_TYPES.items():
                    if mime in data and self.folder is not None:
                        self.count += 1
                        self.folder.mkdir(exist_ok=True, mode=0o700)
                        target = self.folder / f"display-{self.count}{suffix}"
                        blob = data[mime]
                        if isinstance(blob, str):
                            blob = (
                                blob.encode() if mime == "image/svg+xml" else base64.b64decode(blob)
                            )
                        target.write_bytes(blob)
                        if (
                            capture_figures
                            and mime == "image/png"
                            and (run := active_run()) is not None
                        ):
                            # Also the run's media, keyed as in an inline cell: figure-N.
                            run.log_image(f"figure-{self.figures}", blob, step=0)
                            self.figures += 1
                        print(
                            f"[display: {data.get('text/plain', mime)} saved as artifacts/{target.name}]"
                        )
                        return
                print(data.get("text/plain", f"[display of {', '.join(data)}]"))
            except Exception as error:  # a display never ends a job
                print(
                    f"trackrun: a display could not be recorded ({type(error).__name__}: {error})"
                )

        def clear_output(self, wait: bool = False) -> None:
            return None

    RunDisplayPublisher.folder = folder
    return RunDisplayPublisher


#: Names the IPython shell itself binds in the namespace (history, output cache, helpers).
_SHELL_NAMES = re.compile(r"_+|_i+|_i?\d+|_[oids]h|In|Out|get_ipython|exit|quit|open")
_IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/svg+xml": ".svg"}


def _run_plain(source: str, namespace: dict[str, Any], paths: RunPaths) -> BaseException | None:
    try:
        exec(compile(source, f"<trackrun cell {paths.run_id}>", "exec"), namespace)
    except BaseException as error:  # reported by the caller
        traceback.print_exception(type(error), error, error.__traceback__)
        return error
    return None


def _exit_code(error: SystemExit) -> int:
    """The exit status ``sys.exit(code)`` asks for, as the interpreter would compute it."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code & 0xFF
    print(error.code, file=sys.stderr)
    return 1


def _record_error(paths: RunPaths, error: BaseException, show: bool) -> None:
    """Write the error to ``job/error.txt`` (and to the log unless the shell showed it),
    secret values redacted: an error message may quote a token."""
    from trackrun.redaction import redact_text

    text = redact_text("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    if show:
        sys.stderr.write(text)
    (paths.job / "error.txt").write_text(text, encoding="utf-8")


class _JobStream(RedactingStream):
    """stdout or stderr of the job: redacted, and each write counts as the run's activity."""

    def write(self, text: str) -> int:
        liveness.note_output()
        return super().write(text)


def _redirect_output() -> None:
    """Point sys.stdout and sys.stderr, whose file is the run's output.log, at one OutputLog
    on that file: what the cell prints is kept (held while a full disk refuses it, written
    once space is back), in the order printed, and its secrets are not."""
    if sys.stdout is None or sys.stderr is None:
        return
    try:
        log = OutputLog(os.dup(sys.stdout.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):
        log = None
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if log is not None:
            stream.flush()
            stream = io.TextIOWrapper(
                log,
                encoding=stream.encoding or "utf-8",
                errors="backslashreplace",
                write_through=True,
            )
        setattr(sys, name, _JobStream(stream))


def _exit_with_supervisor(paths: RunPaths) -> None:
    """End this job if its supervisor dies: an unsupervised job would run on unrecorded.

    The supervisor is known by the pid it recorded before starting this job, not by this
    process's parent now: the supervisor may already be gone while this job starts.
    """
    from trackrun.events import iter_events

    parent = os.getppid()
    for event in iter_events(paths.events_of("supervisor")):
        if event.get("type") == "status" and event.get("pid"):
            parent = int(event["pid"])
    if os.getppid() != parent:
        os._exit(137)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                from trackrun.event_writer import flush_all_writers

                flush_all_writers()
                os._exit(137)

    threading.Thread(target=watch, name="trackrun-supervisor-watch", daemon=True).start()


def _sigterm_flushes_only() -> None:
    # Under SLURM a SIGTERM may be a requeue, a preemption or a time limit, not an end: the
    # supervisor records the outcome; the job only keeps what it logged.
    def on_sigterm(signum: int, frame: object) -> None:
        flush_all_writers()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def main() -> None:
    """Entry point of the job process: ``python -c 'from trackrun.jobs.runner import main; main()' RUN_DIR``."""
    sys.exit(run_job(Path(sys.argv[1])))
