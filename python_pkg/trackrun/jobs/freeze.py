"""The frozen job of a detached run: freezing inputs, writing and reading ``job/``, cloning it.

``freeze_inputs`` and ``write_job`` run in the kernel; ``read_spec`` and ``save_outputs`` in
the job process; ``load_outputs`` when attaching; ``clone`` for reruns and sweep points.
Inputs and outputs are each one signed pickle of one object graph (``jobs/graph.py``,
``jobs/signing.py``).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrun.errors import NotSerializableError, RunStateError, TrackrunError
from trackrun.events import append_event
from trackrun.ids import check_run_id
from trackrun.jobs.environment import spec_environment
from trackrun.jobs.graph import (
    MovedStorage,
    cpu_note,
    dump_graph,
    load_graph,
    names_on_storages,
    reached_names,
    restore_names,
)
from trackrun.jobs.pickled_secrets import secrets_held
from trackrun.layout import RunPaths, StorePaths, write_json_atomic
from trackrun.signing import read_verified, write_signed
from trackrun.values import normalize_params

#: Inputs larger than this (bytes) get a warning with their size.
LARGE_INPUT_BYTES = int(os.environ.get("TRACKRUN_LARGE_INPUT_BYTES", str(2 * 1024**3)))


@dataclass
class FrozenInputs:
    """The cell's inputs, pickled as one graph (so shared references stay shared).

    ``objects`` maps each memo index of the pickle to the kernel object it was (the kernel
    remembers them to merge the outputs back in place); ``written`` are the names notebook
    functions rebind through ``global``.
    """

    payload: bytes
    names: list[str]
    warnings: list[str] = field(default_factory=list)
    objects: dict[int, Any] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)


def freeze_inputs(namespace: Mapping[str, Any], names: list[str]) -> FrozenInputs:
    """Pickle the values of ``names`` found in ``namespace`` as one graph with cloudpickle.

    The names notebook functions and classes among them use (their globals, transitively)
    are inputs too: in the job those functions see the job's namespace as their globals.
    Modules travel by reference; functions and classes defined in the notebook by value.
    Raises NotSerializableError listing every value that cannot be pickled (name, type,
    reason) with the advice to build it inside the cell. Names absent from the namespace
    are skipped (they may be builtins or defined by the cell itself). ``warnings`` say
    which names hold the value of a secret variable (it cannot be redacted in a pickle).
    """
    import cloudpickle

    present = [n for n in names if n in namespace]
    reached, written = reached_names(namespace, present)
    present += sorted(n for n in reached if n not in present and not n.startswith("__"))
    try:
        graph = dump_graph({n: namespace[n] for n in present}, namespace)
    except Exception:  # find out which values cannot travel, and say why
        problems: list[str] = []
        for name in present:
            value = namespace[name]
            try:
                cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # any pickling failure is reported, with its reason
                problems.append(f"  {name}: {type(value).__qualname__} ({_reason(error)})")
        raise NotSerializableError(
            "cannot detach this cell: these values it reads cannot be sent to a background "
            "process:\n" + "\n".join(problems) + "\nCreate them inside the cell instead (e.g. "
            "open the file or build the data loader there); nothing was started."
        ) from None
    warnings = secrets_held(graph.payload, {n: namespace[n] for n in present}, "inputs")
    if len(graph.payload) > LARGE_INPUT_BYTES:
        warnings.append(
            f"trackrun: the values the cell reads ({', '.join(present)}) are "
            f"{len(graph.payload) / 1024**3:.1f} GB; they are copied into the job. Loading "
            "them inside the cell avoids the copy."
        )
    return FrozenInputs(graph.payload, present, warnings, graph.objects, sorted(written))


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else type(error).__name__
    return f"{type(error).__name__}: {message}"[:200]


def store_root_of(paths: RunPaths) -> Path:
    """The store a run folder belongs to (``<store>/runs/<run_id>``)."""
    return paths.root.parent.parent


def write_job(
    paths: RunPaths,
    source: str,
    inputs: FrozenInputs,
    assigned: list[str],
    outputs: list[str] | None,
    retries: int,
    gpu: str | None,
    capture_figures: bool = True,
) -> None:
    """Write the frozen job into ``job/``: source, signed inputs and spec (private files).
    ``capture_figures``: figures the cell displays are also logged as the run's media (as
    in an inline cell; ``--no-capture-figures`` turns it off).

    The spec's environment holds no secret: secret variables are only named (the job gets
    their values from the environment of the process that launches it), and secret values
    inside other variables are redacted.
    """
    paths.job.mkdir(mode=0o700, exist_ok=True)
    (paths.job / "source.py").write_text(source, encoding="utf-8")
    write_signed(paths.job / "inputs.pkl", inputs.payload, store_root_of(paths))
    env, secret_names = spec_environment(os.environ)
    spec = {
        "python": sys.executable,
        "cwd": os.getcwd(),
        "sys_path": [p for p in sys.path if p],
        "env": env,
        "secret_names": secret_names,
        "inputs": inputs.names,
        "written": inputs.written,
        "assigned": assigned,
        "outputs": outputs,
        "retries": retries,
        "gpu": gpu,
        "capture_figures": capture_figures,
        "runs_under": "ipython",
    }
    write_json_atomic(paths.job / "spec.json", spec)
    (paths.job / "source.py").chmod(0o600)


def read_spec(paths: RunPaths) -> dict[str, Any]:
    """The job spec written by :func:`write_job`."""
    spec: dict[str, Any] = json.loads((paths.job / "spec.json").read_text())
    return spec


# -- outputs of a finished job -------------------------------------------------------------
def output_names(namespace: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    """Names a finished job brings back: those asked for, else everything it assigned, read,
    or rebound through ``global``, except dunder names. Modules travel by name (an
    ``import torch`` in the cell binds ``torch`` after attach, as inline)."""
    wanted = spec["outputs"] or list(
        dict.fromkeys([*spec["assigned"], *spec["inputs"], *(spec.get("written") or [])])
    )
    return [name for name in wanted if name in namespace and not name.startswith("__")]


def save_outputs(
    paths: RunPaths,
    namespace: dict[str, Any],
    spec: dict[str, Any],
    origins: Mapping[int, int] | None = None,
) -> None:
    """Save the job's outputs as ONE signed pickle (``job/outputs.pkl``) bound to the
    namespace, plus ``job/outputs.json``: saved and skipped names, and ``links`` (output
    memo index -> input memo index) for objects that came in as inputs. ``origins`` maps
    ``id()`` of an input object in this process to its input memo index. Says on stderr
    (the run's log) which names hold the value of a secret variable."""
    import cloudpickle

    names = output_names(namespace, spec)
    skipped: list[dict[str, str]] = []
    while True:
        value = {"names": {n: namespace[n] for n in names}, "grads": _grads_of(namespace, names)}
        try:
            graph = dump_graph(value, namespace)
            break
        except Exception:  # drop what cannot be pickled, report it, keep the rest
            bad = []
            for name in names:
                try:
                    cloudpickle.dumps(namespace[name], protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as error:
                    bad.append(name)
                    skipped.append(
                        {
                            "name": name,
                            "type": type(namespace[name]).__qualname__,
                            "reason": _reason(error),
                        }
                    )
            if not bad:
                raise
            names = [n for n in names if n not in bad]
    for warning in secrets_held(graph.payload, {n: namespace[n] for n in names}, "outputs"):
        print(warning, file=sys.stderr)
    links = {}
    for index, obj in graph.objects.items():
        origin = (origins or {}).get(id(obj))
        if origin is not None:
            links[str(index)] = origin
    write_signed(paths.job / "outputs.pkl", graph.payload, store_root_of(paths))
    write_json_atomic(
        paths.job / "outputs.json", {"saved": sorted(names), "skipped": skipped, "links": links}
    )


def _grads_of(namespace: Mapping[str, Any], names: list[str]) -> list[tuple[Any, Any]]:
    """(tensor, grad) for tensors with a gradient reachable from ``names`` (through
    modules, optimizers, containers): pickled with them so gradients survive."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    found: list[tuple[Any, Any]] = []
    seen: set[int] = set()
    todo = [namespace[n] for n in names]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type, types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            if obj.grad is not None:
                found.append((obj, obj.grad))
            continue
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            todo.extend(obj)
        elif hasattr(obj, "__dict__") and not callable(obj) or isinstance(obj, torch.nn.Module):
            todo.extend(vars(obj).values())
    return found


@dataclass
class LoadedOutputs:
    """The outputs of a finished job as loaded: names, memo, links, grads, skipped, and
    notes for the user (e.g. tensors loaded to CPU)."""

    names: dict[str, Any]
    memo: dict[int, Any]
    links: dict[int, int]
    grads: list[tuple[Any, Any]]
    skipped: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)


def load_outputs(
    paths: RunPaths, namespace: dict[str, Any], trust: bool = False
) -> LoadedOutputs | None:
    """Load the saved outputs of a finished detached run, its functions bound to
    ``namespace`` (whose existing names are left as they were). None when it saved none.
    Tensors saved on a GPU load to CPU where CUDA is not available (``notes`` say which).

    Raises UntrustedPickleError (nothing unpickled) when ``outputs.pkl`` is not signed by
    this store's key, unless ``trust``.
    """
    try:
        payload = read_verified(
            paths.job / "outputs.pkl", store_root_of(paths), "outputs", trust=trust
        )
        info = json.loads((paths.job / "outputs.json").read_text())
    except FileNotFoundError:
        return None
    before = dict(namespace)
    on_cpu: list[MovedStorage] = []
    try:
        value, memo = load_graph(payload, namespace, on_cpu)
    finally:
        restore_names(namespace, before)
    links = {int(k): int(v) for k, v in (info.get("links") or {}).items()}
    notes = [cpu_note(on_cpu, names_on_storages(value["names"], on_cpu))] if on_cpu else []
    return LoadedOutputs(value["names"], memo, links, value["grads"], info["skipped"], notes)


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
