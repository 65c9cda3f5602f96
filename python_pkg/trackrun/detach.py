"""Freezing a cell into a job (source, pickled inputs, interpreter, environment) and running it.

``freeze_inputs`` and ``write_job`` run in the kernel; ``run_job`` runs in the job process
that the supervisor starts, and leaves the kernel-side names as outputs for reattaching.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrun.capture import scrub_environ_for_child
from trackrun.cellcode import final_scalars
from trackrun.errors import NotSerializableError
from trackrun.layout import RunPaths, write_json_atomic
from trackrun.run import Run

#: Inputs larger than this (bytes) get a warning with their size.
LARGE_INPUT_BYTES = int(os.environ.get("TRACKRUN_LARGE_INPUT_BYTES", str(2 * 1024**3)))


@dataclass
class FrozenInputs:
    """The cell's inputs, pickled together (so shared references stay shared)."""

    payload: bytes
    names: list[str]
    warnings: list[str] = field(default_factory=list)


def freeze_inputs(namespace: Mapping[str, Any], names: list[str]) -> FrozenInputs:
    """Pickle the values of ``names`` found in ``namespace`` with cloudpickle.

    Modules travel by reference; functions and classes defined in the notebook by value.
    Raises NotSerializableError listing every value that cannot be pickled (name, type,
    reason) with the advice to build it inside the cell. Names absent from the namespace
    are skipped (they may be builtins or defined by the cell itself).
    """
    import cloudpickle

    present = [n for n in names if n in namespace]
    problems: list[str] = []
    warnings: list[str] = []
    for name in present:
        value = namespace[name]
        try:
            size = len(cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as error:  # any pickling failure is reported, with its reason
            problems.append(f"  {name}: {type(value).__qualname__} ({_reason(error)})")
            continue
        if size > LARGE_INPUT_BYTES:
            warnings.append(
                f"trackrun: {name} is {size / 1024**3:.1f} GB; it is copied into the job. "
                "Loading it inside the cell avoids the copy."
            )
    if problems:
        raise NotSerializableError(
            "cannot detach this cell: these values it reads cannot be sent to a background "
            "process:\n" + "\n".join(problems) + "\nCreate them inside the cell instead (e.g. "
            "open the file or build the data loader there); nothing was started."
        )
    payload = cloudpickle.dumps(
        {n: namespace[n] for n in present}, protocol=pickle.HIGHEST_PROTOCOL
    )
    return FrozenInputs(payload=payload, names=present, warnings=warnings)


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else type(error).__name__
    return f"{type(error).__name__}: {message}"[:200]


def write_job(
    paths: RunPaths,
    source: str,
    inputs: FrozenInputs,
    assigned: list[str],
    outputs: list[str] | None,
    retries: int,
    gpu: str | None,
) -> None:
    """Write the frozen job into ``job/``: source, inputs and spec (private files)."""
    paths.job.mkdir(mode=0o700, exist_ok=True)
    (paths.job / "source.py").write_text(source, encoding="utf-8")
    fd = os.open(paths.job / "inputs.pkl", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(inputs.payload)
    spec = {
        "python": sys.executable,
        "cwd": os.getcwd(),
        "sys_path": [p for p in sys.path if p],
        "env": scrub_environ_for_child(os.environ),
        "inputs": inputs.names,
        "assigned": assigned,
        "outputs": outputs,
        "retries": retries,
        "gpu": gpu,
    }
    write_json_atomic(paths.job / "spec.json", spec)
    (paths.job / "source.py").chmod(0o600)


def read_spec(paths: RunPaths) -> dict[str, Any]:
    """The job spec written by :func:`write_job`."""
    spec: dict[str, Any] = json.loads((paths.job / "spec.json").read_text())
    return spec


# -- the job process ---------------------------------------------------------------------------
def run_job(run_dir: Path) -> int:
    """Run the frozen cell of ``run_dir`` in this process; returns the exit status.

    Logs go to the run (``TRACKRUN_RUN_DIR``); on success the cell's assigned names and
    its inputs (possibly changed in place) are saved to ``job/outputs.pkl``; values that
    cannot be pickled are listed as skipped. On an exception the traceback is printed to
    stderr (the run's output.log) and written to ``job/error.txt``.
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
    run = Run.attach(run_dir)
    _exit_with_supervisor()
    try:
        exec(compile(source, f"<trackrun cell {paths.run_id}>", "exec"), namespace)
    except BaseException as error:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        sys.stderr.write(text)
        (paths.job / "error.txt").write_text(text, encoding="utf-8")
        run.release()
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    if not run.logged_metric_keys():
        scalars = final_scalars(namespace, spec["assigned"])
        if scalars:
            run.log(scalars, step=0)
    _save_outputs(paths, namespace, spec)
    run.release()
    return 0


def _save_outputs(paths: RunPaths, namespace: dict[str, Any], spec: dict[str, Any]) -> None:
    import cloudpickle

    wanted = spec["outputs"] or list(dict.fromkeys([*spec["assigned"], *spec["inputs"]]))
    saved: dict[str, bytes] = {}
    skipped: list[dict[str, str]] = []
    for name in wanted:
        if name not in namespace or name.startswith("__"):
            continue
        value = namespace[name]
        if type(value).__name__ == "module":
            continue  # modules are re-imported by name, not shipped back
        try:
            saved[name] = cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # an unpicklable output is reported, not fatal
            skipped.append(
                {"name": name, "type": type(value).__qualname__, "reason": _reason(error)}
            )
    tmp = paths.job / ".outputs.pkl.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        pickle.dump(saved, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, paths.job / "outputs.pkl")
    write_json_atomic(paths.job / "outputs.json", {"saved": sorted(saved), "skipped": skipped})


def load_outputs(paths: RunPaths) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The saved outputs of a finished detached run (name -> value) and the skipped ones."""
    import cloudpickle

    try:
        with open(paths.job / "outputs.pkl", "rb") as f:
            blobs: dict[str, bytes] = pickle.load(f)
        info = json.loads((paths.job / "outputs.json").read_text())
    except FileNotFoundError:
        return {}, []
    values = {}
    for name, blob in blobs.items():
        try:
            values[name] = cloudpickle.loads(blob)
        except Exception as error:  # e.g. a class that no longer imports here
            info["skipped"].append({"name": name, "type": "?", "reason": _reason(error)})
    return values, info["skipped"]


def _exit_with_supervisor() -> None:
    """End this job if its supervisor dies: an unsupervised job would run on unrecorded."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                from trackrun.event_writer import flush_all_writers

                flush_all_writers()
                os._exit(137)

    threading.Thread(target=watch, name="trackrun-supervisor-watch", daemon=True).start()


def main() -> None:
    """Entry point of the job process: ``python -c 'from trackrun.detach import main; main()' RUN_DIR``."""
    sys.exit(run_job(Path(sys.argv[1])))
