"""The frozen job of a detached run: freezing inputs, writing and reading ``job/``, cloning it.

``freeze_inputs`` and ``write_job`` run in the kernel; ``read_spec`` and ``save_outputs`` in
the job process; ``load_outputs`` when attaching; ``clone`` for reruns and sweep points.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trackrun.capture import scrub_environ_for_child
from trackrun.errors import NotSerializableError, RunStateError, TrackrunError
from trackrun.events import append_event
from trackrun.ids import check_run_id
from trackrun.layout import RunPaths, StorePaths, write_json_atomic
from trackrun.values import normalize_params

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


# -- outputs of a finished job -------------------------------------------------------------
def save_outputs(paths: RunPaths, namespace: dict[str, Any], spec: dict[str, Any]) -> None:
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


# -- cloning a frozen job (reruns, sweep points) --------------------------------------------
def clone(
    store: StorePaths,
    source_run_id: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    launch: Mapping[str, Any] | None = None,
) -> RunPaths:
    """Copy the frozen job of run ``source_run_id`` into a new queued run; return its paths.

    ``overrides`` replace values of names the cell reads (they are recorded as params too);
    ``name`` defaults to ``<source name>-rerun``; ``launch`` entries are merged into the new
    run's launch record (e.g. ``{"sweep": ...}``). Raises RunStateError when the source run
    was not detached (no frozen job) and TrackrunError when an override names something the
    cell does not read. The new run is not submitted: pass it to ``jobs.submit``.
    """
    source = store.run(check_run_id(source_run_id))
    if not (source.job / "spec.json").is_file():
        raise RunStateError(
            f"run {source_run_id} was not detached, so it has no frozen job to run again; "
            "run its cell again in the notebook instead"
        )
    record: dict[str, Any] = json.loads(source.run_json.read_text(encoding="utf-8"))
    clean = normalize_params(dict(overrides or {}))
    spec = read_spec(source)
    unknown = sorted(set(clean) - set(spec.get("inputs") or []))
    if unknown:
        raise TrackrunError(
            f"cannot change {', '.join(unknown)}: the cell does not read "
            f"{'it' if len(unknown) == 1 else 'them'} from the notebook "
            f"(it reads: {', '.join(spec.get('inputs') or []) or 'nothing'})"
        )
    target = store.new_run()
    shutil.copytree(
        source.job,
        target.job,
        ignore=shutil.ignore_patterns("claim", "handle.json", "outputs*", "error.txt", ".*"),
    )
    if source.code.is_dir():
        shutil.copytree(source.code, target.code)
    spec["overrides"] = {**(spec.get("overrides") or {}), **clean}
    write_json_atomic(target.job / "spec.json", spec)
    write_json_atomic(
        target.run_json,
        {
            **record,
            "run_id": target.run_id,
            "name": name or f"{record.get('name') or source_run_id}-rerun",
            "created_at": time.time(),
            "params": {**(record.get("params") or {}), **clean},
            "launch": {
                **(record.get("launch") or {}),
                "rerun_of": source_run_id,
                **dict(launch or {}),
            },
        },
    )
    append_event(target.events, "status", status="queued")
    return target
