"""State a merge cannot see in ``__dict__``: C-implemented objects, and ``__slots__``.

Merging a job's object into the kernel's puts the loaded state into the kernel's object.
For a plain object that state is its ``__dict__`` and ``__slots__``; an object implemented
in C keeps its state in fields Python cannot reach. The C kinds a notebook commonly
advances in place have a public way to read and write their state, used here: random
generators (``random.Random``, numpy's ``Generator``, ``RandomState`` and bit generators,
``torch.Generator``), ``collections.deque``, ``bytearray`` and ``array.array``. Any other
object with C-held state cannot be merged: :func:`c_state_class` finds those, and the merge
rebinds them and says so (:data:`C_OBJECT_REASON`).
"""

from __future__ import annotations

import array
import collections
import contextlib
import random
import struct
import sys
from collections.abc import Callable
from typing import Any

#: Why a C-implemented object was rebound rather than merged (shown by attach).
C_OBJECT_REASON = (
    "a C-implemented object: its state cannot be put into the kernel's object; other "
    "references to it keep the old state"
)

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: made at run time (every class statement)
_IMMUTABLETYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE (3.10+): set on C types only
_POINTER = struct.calcsize("P")


def c_state_class(cls: type) -> type | None:
    """The first class of ``cls``'s MRO, ``object`` aside, whose instances keep state in C
    fields (outside ``__dict__`` and ``__slots__``), or None for a pure Python class.

    A static or immutable type is C-implemented; a heap type is too when its instances are
    larger than its base's by more than a ``__dict__`` and a weak-reference pointer (C
    extension types made at run time, such as ``_random.Random`` since Python 3.10).
    """
    for klass in cls.__mro__:
        if klass is object or "__slots__" in vars(klass):
            continue  # __slots__ come from a class statement: Python-visible state
        flags = klass.__flags__
        if not flags & _HEAPTYPE or flags & _IMMUTABLETYPE or _adds_c_fields(klass):
            return klass
    return None


def _adds_c_fields(klass: type) -> bool:
    """Whether ``klass`` adds instance fields beyond its base's (CPython's ``extra_ivars``)."""
    base = klass.__base__ or object
    size, base_size = klass.__basicsize__, base.__basicsize__
    if klass.__itemsize__ or base.__itemsize__:
        return size != base_size or klass.__itemsize__ != base.__itemsize__
    weak, dict_ = klass.__weakrefoffset__, klass.__dictoffset__
    if weak > 0 and not base.__weakrefoffset__ and weak + _POINTER == size:
        size -= _POINTER
    if dict_ > 0 and not base.__dictoffset__ and dict_ + _POINTER == size:
        size -= _POINTER
    return size != base_size


def slot_names(cls: type) -> list[str]:
    """The attribute names of ``cls``'s ``__slots__`` (its bases' included, names mangled as
    Python stores them), without ``__dict__`` and ``__weakref__``."""
    names: list[str] = []
    for klass in cls.__mro__:
        slots = vars(klass).get("__slots__", ())
        for slot in [slots] if isinstance(slots, str) else slots:
            if slot in ("__dict__", "__weakref__"):
                continue
            if slot.startswith("__") and not slot.endswith("__"):
                slot = f"_{klass.__name__.lstrip('_')}{slot}"
            if slot not in names:
                names.append(slot)
    return names


def same_state(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` pickle to the same bytes (an object the job left unchanged,
    e.g. an immutable ``datetime``, needs no merge). False when either cannot be pickled."""
    import cloudpickle

    try:
        return bool(cloudpickle.dumps(a, protocol=4) == cloudpickle.dumps(b, protocol=4))
    except Exception:  # anything unpicklable counts as changed: the merge says it rebound it
        return False


def is_native_kind(obj: Any) -> bool:
    """Whether ``obj`` is one of the C kinds whose state :func:`copy_native` can copy."""
    return _kind(obj) is not None


def native_problem(target: Any, obj: Any) -> str | None:
    """Why the state of ``obj`` cannot be copied into ``target`` (same native kind, same
    type); None when it can."""
    kind = _kind(target)
    if kind == "numpy-generator":
        old, new = type(target.bit_generator), type(obj.bit_generator)
        if old is not new:
            return f"its bit generator changed ({old.__name__} -> {new.__name__})"
    elif kind == "torch-generator" and target.device != obj.device:
        return f"device changed ({target.device} -> {obj.device})"
    elif kind == "deque" and target.maxlen != obj.maxlen:
        return f"maxlen changed ({target.maxlen} -> {obj.maxlen})"
    elif kind == "array" and target.typecode != obj.typecode:
        return f"typecode changed ({target.typecode} -> {obj.typecode})"
    return None


def copy_native(target: Any, obj: Any, resolve: Callable[[Any], Any]) -> None:
    """Put the C-held state of ``obj`` into ``target`` (checked by :func:`native_problem`);
    ``resolve`` maps a loaded item (of a deque) to the object the kernel should hold."""
    kind = _kind(target)
    if kind == "random":
        with contextlib.suppress(NotImplementedError):  # SystemRandom: the OS has its state
            target.setstate(obj.getstate())
    elif kind == "numpy-generator":
        target.bit_generator.state = obj.bit_generator.state
    elif kind == "numpy-bit-generator":
        target.state = obj.state
    elif kind == "numpy-random-state":
        target.set_state(obj.get_state(legacy=False))
    elif kind == "torch-generator":
        target.set_state(obj.get_state())
    elif kind == "deque":
        items = [resolve(x) for x in obj]
        target.clear()
        target.extend(items)
    elif kind in ("bytearray", "array"):
        target[:] = obj


def _kind(obj: Any) -> str | None:
    if isinstance(obj, random.Random):
        return "random"
    if isinstance(obj, collections.deque):
        return "deque"
    if isinstance(obj, bytearray):
        return "bytearray"
    if isinstance(obj, array.array):
        return "array"
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(obj, numpy.random.Generator):
            return "numpy-generator"
        if isinstance(obj, numpy.random.BitGenerator):
            return "numpy-bit-generator"
        if isinstance(obj, numpy.random.RandomState):
            return "numpy-random-state"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Generator):
        return "torch-generator"
    return None
