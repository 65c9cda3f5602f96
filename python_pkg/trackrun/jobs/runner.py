"""The job process: runs a frozen cell in its run, then saves its outputs for reattaching.

Started by the supervisor as ``python -c 'from trackrun.jobs.runner import main; main()' RUN_DIR``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from trackrun.cellcode import final_scalars
from trackrun.events import flush_all_writers
from trackrun.jobs.freeze import read_spec, save_outputs
from trackrun.layout import RunPaths
from trackrun.run import Run


def run_job(run_dir: Path) -> int:
    """Run the frozen cell of ``run_dir`` in this process; returns the exit status.

    Logs go to the run (``TRACKRUN_RUN_DIR``); on success the cell's assigned names and
    its inputs (possibly changed in place) are saved to ``job/outputs.pkl``; values that
    cannot be pickled are listed as skipped. On an exception the traceback is printed to
    stderr (the run's output.log) and written to ``job/error.txt``. ``sys.exit(n)`` in the
    cell ends the job with status ``n`` (0 or None: finished, as any Python program).
    """
    import cloudpickle

    paths = RunPaths(run_dir)
    spec = read_spec(paths)
    sys.path[:0] = [p for p in spec["sys_path"] if p not in sys.path]
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    with open(paths.job / "inputs.pkl", "rb") as f:
        namespace.update(cloudpickle.load(f))
    namespace.update(spec.get("overrides") or {})  # params changed for a rerun
    source = (paths.job / "source.py").read_text(encoding="utf-8")
    if os.environ.get("TRACKRUN_BACKEND") == "slurm":
        _sigterm_flushes_only()  # before Run.attach, whose handler would record `killed`
    run = Run.attach(run_dir)
    _exit_with_supervisor()
    try:
        exec(compile(source, f"<trackrun cell {paths.run_id}>", "exec"), namespace)
    except SystemExit as error:
        code = _exit_code(error)
        if code:
            _record_error(paths, error)
            run.release()
            return code
    except BaseException as error:
        _record_error(paths, error)
        run.release()
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    if not run.logged_metric_keys():
        scalars = final_scalars(namespace, spec["assigned"])
        if scalars:
            run.log(scalars, step=0)
    save_outputs(paths, namespace, spec)
    run.release()
    return 0


def _exit_code(error: SystemExit) -> int:
    """The exit status ``sys.exit(code)`` asks for, as the interpreter would compute it."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code & 0xFF
    print(error.code, file=sys.stderr)
    return 1


def _record_error(paths: RunPaths, error: BaseException) -> None:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    sys.stderr.write(text)
    (paths.job / "error.txt").write_text(text, encoding="utf-8")


def _exit_with_supervisor() -> None:
    """End this job if its supervisor dies: an unsupervised job would run on unrecorded."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                from trackrun.events import flush_all_writers

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
