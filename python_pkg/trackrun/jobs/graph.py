"""One object graph: pickling a namespace's values together, bound to a namespace, with identities.

Every value crosses between the kernel and the job in ONE pickle, so two names that hold the
same object (or a list that holds a tensor also named on its own) still share it on the other
side. Notebook functions and classes travel by value (cloudpickle); their globals are not a
private copy but the namespace they are loaded into (``load_graph(..., namespace=ns)``), so
``train()`` in the job trains the job's ``model`` and, after attach, ``train.__globals__ is
globals()`` in the kernel. The pickle memo numbers every object; :func:`dump_graph` returns
those numbers so the other side can tell which loaded object was which original one.
"""

from __future__ import annotations

import dis
import functools
import io
import pickle
import sys
import types
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Persistent id standing for "the namespace this graph is loaded into".
NAMESPACE_PID = "trackrun:namespace"
GRAPH_PROTOCOL = 4


@dataclass
class DumpedGraph:
    """A pickled graph and, for each memoized object, its memo index (id(obj) -> index)."""

    payload: bytes
    index_of: dict[int, int]
    objects: dict[int, Any]  # memo index -> the object (keeps ids valid while this lives)


def dump_graph(value: Any, namespace: Mapping[str, Any] | None) -> DumpedGraph:
    """Pickle ``value`` with cloudpickle; functions whose globals are ``namespace`` are saved
    as bound to "the namespace" (not a copy of it). Raises what pickling raises."""
    import cloudpickle

    marker: dict[str, Any] = {"__name__": "__main__"}

    class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]
        def persistent_id(self, obj: Any) -> str | None:
            return NAMESPACE_PID if obj is marker else None

    buffer = io.BytesIO()
    # Protocol 4, not 5: with 5, numpy arrays come back as views of the pickle's buffer
    # (they do not own their data, so e.g. ``arr.resize`` fails where it works inline).
    pickler = _Pickler(buffer, protocol=GRAPH_PROTOCOL)
    if namespace is not None:
        pickler.globals_ref[id(namespace)] = marker
    pickler.dump(value)
    memo = pickler.memo.copy()
    index_of = {key: entry[0] for key, entry in memo.items()}
    objects = {entry[0]: entry[1] for entry in memo.values()}
    return DumpedGraph(buffer.getvalue(), index_of, objects)


def load_graph(
    payload: bytes, namespace: dict[str, Any], on_cpu: list[MovedStorage] | None = None
) -> tuple[Any, dict[int, Any]]:
    """Unpickle ``payload`` (verified by the caller: unpickling runs code), binding notebook
    functions to ``namespace``; returns the value and memo index -> loaded object.

    Loading a function sets the globals it referenced in ``namespace`` (cloudpickle does
    that); callers that must not change names restore them afterwards (see
    :func:`restore_names`). Torch storages saved on a CUDA device (a job on a GPU node)
    are loaded to CPU when this process has no CUDA; each is added to ``on_cpu``, or, when
    the caller does not collect them, said on stderr.
    """
    moved: list[MovedStorage] = [] if on_cpu is None else on_cpu

    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            if pid == NAMESPACE_PID:
                return namespace
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("torch.storage", "_load_from_bytes"):
                return functools.partial(_load_storage, moved=moved)
            return super().find_class(module, name)

    unpickler = _Unpickler(io.BytesIO(payload))
    value = unpickler.load()
    if moved and on_cpu is None:
        print(f"trackrun: {cpu_note(moved)}", file=sys.stderr)
    return value, dict(unpickler.memo.copy())


@dataclass(frozen=True)
class MovedStorage:
    """A torch storage saved on ``location`` (e.g. ``cuda:0``) and loaded to CPU instead;
    ``pointer`` is its data pointer on CPU (tensors on it share it)."""

    location: str
    pointer: int


def _load_storage(data: bytes, moved: list[MovedStorage]) -> Any:
    """``torch.storage._load_from_bytes`` (how a pickled tensor's storage is loaded), with
    CUDA storages kept on CPU when this process has no CUDA (torch would refuse them)."""
    import torch

    def place(storage: Any, location: str) -> Any:
        if location.startswith("cuda") and not torch.cuda.is_available():
            moved.append(MovedStorage(location, int(storage.data_ptr())))
            return storage  # as deserialized: on CPU
        return None  # torch's own placement

    return torch.load(io.BytesIO(data), weights_only=False, map_location=place)


def cpu_note(moved: list[MovedStorage], names: Iterable[str] = ()) -> str:
    """The message for storages loaded to CPU: ``loaded to CPU: a, b (saved on cuda:0;
    CUDA is not available here)``."""
    shown = ", ".join(names) or f"{len(moved)} tensor storage(s)"
    where = ", ".join(sorted({m.location for m in moved}))
    return f"loaded to CPU: {shown} (saved on {where}; CUDA is not available here)"


def names_on_storages(values: Mapping[str, Any], moved: list[MovedStorage]) -> list[str]:
    """The names among ``values`` that hold (through containers, attributes, modules and
    optimizers) a tensor whose storage is one of ``moved``."""
    torch = sys.modules.get("torch")
    pointers = {m.pointer for m in moved}
    if torch is None or not pointers:
        return []
    found = []
    for name, value in values.items():
        seen: set[int] = set()
        todo = [value]
        while todo and len(seen) < 100_000:
            obj = todo.pop()
            if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
                continue
            seen.add(id(obj))
            if isinstance(obj, torch.Tensor):
                if obj.untyped_storage().data_ptr() in pointers:
                    found.append(name)
                    break
            elif isinstance(obj, dict):
                todo.extend(obj.keys())
                todo.extend(obj.values())
            elif isinstance(obj, (list, tuple, set, frozenset)):
                todo.extend(obj)
            elif not isinstance(obj, types.ModuleType) and hasattr(obj, "__dict__"):
                todo.extend(vars(obj).values())
    return found


def track_optimizer_steps(objects: Iterable[Any]) -> None:
    """Give LR schedulers loaded in the job back their watch on ``optimizer.step``.

    A scheduler wraps its optimizer's ``step`` in an instance attribute, which the
    optimizer's pickled state leaves out; without it the first ``scheduler.step()`` in the
    job warns that the optimizer's step was overridden, as it never does inline. Only for
    objects that live on (the job's): an attach merges state into the kernel's own objects,
    which keep their wrapper.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return
    scheduler_type = torch.optim.lr_scheduler.LRScheduler
    for obj in objects:
        optimizer = getattr(obj, "optimizer", None) if isinstance(obj, scheduler_type) else None
        if optimizer is None or hasattr(optimizer.step, "_wrapped_by_lr_sched"):
            continue
        optimizer.step = _counted_step(optimizer)


def _counted_step(optimizer: Any) -> Any:
    """``optimizer.step`` wrapped as an LR scheduler wraps it (marks ``_opt_called``)."""
    step = type(optimizer).step
    owner: weakref.ref[Any] = weakref.ref(optimizer)

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt: Any = owner()
        opt._opt_called = True
        return step(opt, *args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    return wrapper


def restore_names(namespace: dict[str, Any], before: Mapping[str, Any]) -> None:
    """Undo what loading functions did to ``namespace``: names it had get their old value
    back; new names stay (a loaded function may need them)."""
    for name, value in before.items():
        if namespace.get(name, _MISSING) is not value:
            namespace[name] = value


_MISSING = object()
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME"})


def code_globals(code: types.CodeType) -> set[str]:
    """Global names a code object (and the code nested in it) reads, writes or deletes."""
    names: set[str] = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_OPS and isinstance(instruction.argval, str):
            names.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_globals(const)
    return names


def reached_names(namespace: Mapping[str, Any], names: Iterable[str]) -> tuple[set[str], set[str]]:
    """Names the notebook functions and classes among ``names`` use, transitively.

    Returns ``(present, written)``: the global names reached that exist in ``namespace``,
    and the names some function rebinds through ``global`` (present or not).
    """
    present: set[str] = set()
    written: set[str] = set()
    seen: set[int] = set()
    todo = [namespace[n] for n in names if n in namespace]
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        for code in _codes_of(value, namespace):
            for instruction in dis.get_instructions(code):
                if instruction.opname == "STORE_GLOBAL":
                    written.add(str(instruction.argval))
            for name in code_globals(code):
                if name in namespace and name not in present:
                    present.add(name)
                    todo.append(namespace[name])
    return present, written


def _codes_of(value: Any, namespace: Mapping[str, Any]) -> list[types.CodeType]:
    """Code objects of a notebook function, a notebook class's methods, or an instance's class."""
    if isinstance(value, types.FunctionType):
        return [value.__code__] if value.__globals__ is namespace else []
    cls = value if isinstance(value, type) else type(value)
    if cls.__module__ != namespace.get("__name__", "__main__"):
        return []
    codes = []
    for klass in cls.__mro__:
        if klass.__module__ != cls.__module__:
            continue
        for member in vars(klass).values():
            function = getattr(member, "__func__", member)
            function = getattr(function, "fget", function)
            if isinstance(function, types.FunctionType):
                codes.append(function.__code__)
    return codes
