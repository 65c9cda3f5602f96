"""Merging a detached job's outputs back into the kernel's own objects, in place.

At launch the kernel remembers which of its objects each input pickle's memo index was
(``launch_records.py``). At attach, :func:`merge_graph` walks the loaded outputs: a loaded
object that stands for a remembered kernel object puts its state INTO that kernel object
(tensor values, a module's or optimizer's state, array contents, container contents,
instance attributes), so every other reference the kernel holds (an alias, a list of
parameters, an optimizer made in an earlier cell, a closure) sees the job's work. New objects are kept, with their references to
merged objects rewired to the kernel's. What cannot merge is rebound, with a reason
(objects whose state lives in C, except the kinds ``jobs/native_state.py`` can copy).
"""

from __future__ import annotations

import collections
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trackrun.jobs.freeze import load_outputs
from trackrun.jobs.launch_records import SCALARS, forget, take_refs
from trackrun.jobs.native_state import (
    C_OBJECT_REASON,
    c_state_class,
    copy_native,
    is_native_kind,
    native_problem,
    same_state,
    slot_names,
)
from trackrun.layout import RunPaths


@dataclass
class MergeReport:
    """What a merge did: names merged in place, names rebound (with why), notes."""

    in_place: list[str] = field(default_factory=list)
    rebound: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def merge_graph(
    run_id: str,
    names: Mapping[str, Any],
    loaded: Mapping[int, Any],
    links: Mapping[int, int],
    grads: list[tuple[Any, Any]],
) -> tuple[dict[str, Any], MergeReport]:
    """Map the loaded output ``names`` onto the kernel's objects; returns name -> value to
    bind, and a report. ``loaded`` is the outputs' memo (index -> loaded object), ``links``
    maps an output memo index to the input memo index it came from. Without a launch record
    (another kernel), nothing merges: the loaded graph is bound as is. Drops the record."""
    refs = take_refs(run_id)
    targets: dict[int, Any] = {}
    for out_index, in_index in links.items():
        ref = refs.get(in_index)
        kernel_obj = ref() if ref is not None else None
        if kernel_obj is not None and out_index in loaded:
            targets[id(loaded[out_index])] = kernel_obj
    merger = _Merger(targets)
    result = {}
    for name, value in names.items():
        before = len(merger.rebound)
        result[name] = merger.resolve(value, name)
        if id(value) in targets and result[name] is targets[id(value)]:
            merger.report.in_place.append(name)
        merger.report.rebound.extend(merger.rebound[before:])
    for tensor, grad in grads:
        target = merger.resolve(tensor, "")
        try:
            target.grad = merger.resolve(grad, "")
        except (RuntimeError, TypeError):
            merger.report.notes.append("some gradients could not be restored (.grad is None)")
    return result, merger.report


class _Merger:
    def __init__(self, targets: dict[int, Any]) -> None:
        self.targets = targets
        self.done: dict[int, Any] = {}
        self.keep: list[Any] = []  # loaded objects stay alive while ids are in `done`
        self.rebound: list[tuple[str, str]] = []
        self.report = MergeReport()

    def resolve(self, obj: Any, path: str) -> Any:
        """The object to use in the kernel for the loaded ``obj`` (merged, or rewired new)."""
        key = id(obj)
        if key in self.done:
            return self.done[key]
        if isinstance(obj, (*SCALARS, type, types.ModuleType)):
            return obj
        self.keep.append(obj)
        target = self.targets.get(key)
        if target is not None:
            problem = _merge_problem(target, obj)
            if problem is None:
                self.done[key] = target
                self._fill(target, obj, path)
                return target
            self.rebound.append((path, problem))
        if isinstance(obj, tuple):
            items = tuple(self.resolve(x, path) for x in obj)
            fresh = obj
            if not all(a is b for a, b in zip(items, obj, strict=True)):
                if type(obj) is tuple:
                    fresh = items
                elif hasattr(obj, "_make"):  # a named tuple
                    fresh = obj._make(items)
            self.done[key] = fresh
            return fresh
        if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
            fresh = self._rebind_method(obj, path)
            self.done[key] = fresh
            return fresh
        self.done[key] = obj
        self._rewire(obj, path)
        return obj

    def _rebind_method(self, method: Any, path: str) -> Any:
        """A bound method of a loaded object, bound to the kernel's object it merged into
        (``step = opt.step`` then steps the kernel's optimizer)."""
        owner = getattr(method, "__self__", None)
        if owner is None or isinstance(owner, (type, types.ModuleType)):
            return method
        new_owner = self.resolve(owner, path)
        if isinstance(method, types.MethodType):
            function = self.resolve(method.__func__, path)
            if new_owner is owner and function is method.__func__:
                return method
            return types.MethodType(function, new_owner)
        return method if new_owner is owner else getattr(new_owner, method.__name__, method)

    def _fill(self, target: Any, obj: Any, path: str) -> None:
        """Put the state of loaded ``obj`` into kernel object ``target`` (types checked)."""
        if target is obj:
            return
        if _is_tensor(target):
            _fill_tensor(target, obj)
        elif _is_ndarray(target):
            target[...] = obj
        elif isinstance(target, types.FunctionType):
            return  # the kernel's own function, bound to the kernel's globals
        elif isinstance(target, list):
            target[:] = [self.resolve(x, path) for x in obj]
        elif isinstance(target, dict):
            items = [(self.resolve(k, path), self.resolve(v, path)) for k, v in obj.items()]
            target.clear()
            target.update(items)
            if isinstance(target, collections.defaultdict):
                target.default_factory = self.resolve(obj.default_factory, path)
        elif isinstance(target, set):
            members = [self.resolve(x, path) for x in obj]
            target.clear()
            target.update(members)
        elif is_native_kind(target):
            copy_native(target, obj, lambda x: self.resolve(x, path))
        if hasattr(target, "__dict__"):
            state = {k: self.resolve(v, f"{path}.{k}") for k, v in vars(obj).items()}
            own = vars(target)
            if not _is_torch_object(target):
                for k in [k for k in own if k not in state]:
                    del own[k]
            own.update(state)
        for name in slot_names(type(target)):
            value = getattr(obj, name, _UNSET)
            if value is not _UNSET:
                setattr(target, name, self.resolve(value, f"{path}.{name}"))
            elif hasattr(target, name):
                delattr(target, name)

    def _rewire(self, obj: Any, path: str) -> None:
        """Point a new object's references to merged objects at the kernel's objects."""
        if _is_tensor(obj) or _is_ndarray(obj) or isinstance(obj, types.FunctionType):
            return
        if isinstance(obj, list):
            obj[:] = [self.resolve(x, path) for x in obj]
        elif isinstance(obj, dict):
            items = [(self.resolve(k, path), self.resolve(v, path)) for k, v in obj.items()]
            if any(a is not b for (a, _), b in zip(items, obj, strict=True)) or any(
                v is not obj[k] for k, v in items if k in obj
            ):
                obj.clear()
                obj.update(items)
        elif isinstance(obj, set):
            members = [self.resolve(x, path) for x in obj]
            obj.clear()
            obj.update(members)
        elif isinstance(obj, collections.deque):
            items = [self.resolve(x, path) for x in obj]
            if any(a is not b for a, b in zip(items, obj, strict=True)):
                obj.clear()
                obj.extend(items)
        own = getattr(obj, "__dict__", None)
        if isinstance(own, dict):
            for k, v in list(own.items()):
                new = self.resolve(v, f"{path}.{k}")
                if new is not v:
                    own[k] = new
        for name in slot_names(type(obj)):
            value = getattr(obj, name, _UNSET)
            if value is not _UNSET and (new := self.resolve(value, f"{path}.{name}")) is not value:
                setattr(obj, name, new)


_UNSET = object()


def _merge_problem(target: Any, obj: Any) -> str | None:
    """Why loaded ``obj`` cannot be merged into kernel object ``target`` (None: it can)."""
    if target is obj:  # loaded by reference (a module-level singleton): nothing to merge
        return None
    if type(target) is not type(obj):
        return f"type changed ({type(target).__name__} -> {type(obj).__name__})"
    if _is_ndarray(target):
        if target.shape != obj.shape or target.dtype != obj.dtype:
            return (
                f"shape or dtype changed ({target.shape} {target.dtype} -> {obj.shape} {obj.dtype})"
            )
        if not target.flags.writeable:
            return "the kernel's array is read-only"
        return None
    if _is_tensor(target):
        return None
    if isinstance(target, (list, dict, set, types.FunctionType)):
        return None
    if is_native_kind(target):
        return native_problem(target, obj)
    if c_state_class(type(target)) is not None and not same_state(target, obj):
        return C_OBJECT_REASON
    return None


def _fill_tensor(target: Any, obj: Any) -> None:
    import torch

    with torch.no_grad():
        if (
            target.shape == obj.shape
            and target.dtype == obj.dtype
            and target.device == obj.device
            and target.layout == obj.layout
        ):
            target.data.copy_(obj.data)
        else:
            target.data = obj.data  # same tensor object, new shape/dtype/device
    if target.is_leaf and target.requires_grad != obj.requires_grad:
        target.requires_grad_(obj.requires_grad)
    target.grad = None  # restored from the job's grads when it saved them


def _is_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_ndarray(obj: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(obj, numpy.ndarray)


def _is_torch_object(obj: Any) -> bool:
    return type(obj).__module__.split(".", 1)[0] == "torch"


def attach_outputs(
    paths: RunPaths, namespace: dict[str, Any], trust: bool = False
) -> tuple[dict[str, Any], MergeReport, list[dict[str, str]]] | None:
    """Load the outputs of the finished run at ``paths`` and merge them into this kernel's
    objects; returns (name -> value to bind in ``namespace``, report, skipped outputs), or
    None when the run saved none. Drops the run's launch record. Raises
    UntrustedPickleError (nothing unpickled) when the outputs are not signed by this store,
    unless ``trust``.
    """
    loaded = load_outputs(paths, namespace, trust=trust)
    if loaded is None:
        forget(paths.run_id)
        return None
    values, report = merge_graph(
        paths.run_id, loaded.names, loaded.memo, loaded.links, loaded.grads
    )
    report.notes.extend(loaded.notes)
    return values, report, loaded.skipped
