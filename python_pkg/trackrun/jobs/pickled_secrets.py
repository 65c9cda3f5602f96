"""Secret values inside a job's pickles: finding which names hold them, to say so.

Text the store writes is redacted by value (``redaction.py``), but a pickle holds the
cell's values themselves: a token kept in a variable cannot be redacted there without
changing what the job computes. So the kernel (inputs) and the job (outputs) look for the
environment's secret values in the pickled bytes and name the variables holding them.
"""

from __future__ import annotations

import os
import pickle
import types
from collections.abc import Mapping
from typing import Any

from trackrun.redaction import MIN_SUBSTRING_SECRET, current_secrets


def secrets_held(payload: bytes, values: Mapping[str, Any], what: str) -> list[str]:
    """One warning per secret variable of the environment whose value is in ``payload``
    (the pickled ``values``, the job's ``what``: "inputs" or "outputs"), naming the names
    that hold it. Values in a pickle cannot be redacted; the user should know they are on
    disk. Costs one substring search per secret unless one is found."""
    warnings = []
    for secret, variable in current_secrets():
        if len(secret) < MIN_SUBSTRING_SECRET or secret.encode() not in payload:
            continue
        holders = [n for n, v in values.items() if _holds(v, secret)] or [
            n for n, v in values.items() if _pickle_holds(v, secret)
        ]
        held = "the value of" if os.environ.get(variable) == secret else "the password in"
        where = ", ".join(f"`{n}`" for n in holders) or "a value it could not name"
        warnings.append(
            f"trackrun: the job's {what} hold {held} {variable} (in {where}); it is stored "
            f"in job/{what}.pkl, readable only by you. Read it from os.environ inside the "
            "cell to keep it off the disk."
        )
    return warnings


def _holds(value: Any, secret: str, limit: int = 100_000) -> bool:
    """Whether ``secret`` is in a string or bytes reachable from ``value`` (containers,
    attributes, function defaults and closures), looking at ``limit`` objects at most."""
    needle = secret.encode()
    seen: set[int] = set()
    todo = [value]
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if secret in obj:
                return True
        elif isinstance(obj, (bytes, bytearray)):
            if needle in obj:
                return True
        elif isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        elif isinstance(obj, types.FunctionType):
            todo.extend(obj.__defaults__ or ())
            todo.extend((obj.__kwdefaults__ or {}).values())
            todo.extend(cell.cell_contents for cell in obj.__closure__ or () if _filled(cell))
        elif not isinstance(obj, (type, types.ModuleType)) and isinstance(
            getattr(obj, "__dict__", None), dict
        ):
            todo.extend(vars(obj).values())
    return False


def _filled(cell: Any) -> bool:
    try:
        _ = cell.cell_contents  # an empty cell raises
    except ValueError:
        return False
    return True


def _pickle_holds(value: Any, secret: str) -> bool:
    """Whether the pickle of ``value`` alone holds ``secret`` (when the walk found nothing)."""
    import cloudpickle

    try:
        return secret.encode() in cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # not picklable alone: it cannot be the one
        return False
