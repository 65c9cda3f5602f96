"""Reading a request's query string and JSON body against the models of schemas/."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

from trackrun.errors import TrackrunError

_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")
_INT64 = 2**63


class RequestError(TrackrunError):
    """A query parameter or a request body does not match the API contract (answered 400)."""

    code = "invalid_request"


def parse_query(model: Any, argument: Callable[[str], str | None]) -> dict[str, Any]:
    """The parameters ``model`` declares, read with ``argument(name)`` and typed.

    Absent or empty parameters are left out; ``list[str]`` is comma-separated. Parameters the
    model does not declare are ignored (browsers add cache busters). Raises RequestError.
    """
    values: dict[str, Any] = {}
    for name, tp in get_type_hints(model).items():
        raw = argument(name)
        if raw is None or raw == "":
            continue
        if tp is int:
            try:
                number = int(raw)
            except ValueError:
                raise RequestError(f"{name} must be an integer, not {raw!r}") from None
            # The index stores 64-bit integers; a larger one would fail deep inside it.
            if not -_INT64 <= number < _INT64:
                raise RequestError(f"{name} must be between -2^63 and 2^63-1, not {raw}")
            values[name] = number
        elif tp is bool:
            if raw.lower() not in (*_TRUE, *_FALSE):
                raise RequestError(f"{name} must be true or false, not {raw!r}")
            values[name] = raw.lower() in _TRUE
        elif get_origin(tp) is list:
            values[name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            values[name] = raw
    return values


def parse_body(model: Any, raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw`` checked against ``model`` (empty body: ``{}``).

    Raises RequestError naming the first key that is unknown or of the wrong type.
    """
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise RequestError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    hints = get_type_hints(model)
    for key, value in body.items():
        if key not in hints:
            known = ", ".join(sorted(hints)) or "nothing"
            raise RequestError(f"unknown field {key!r} in the request body (it takes: {known})")
        if not conforms(value, hints[key]):
            raise RequestError(f"{key} must be {describe(hints[key])}, not {json.dumps(value)}")
    missing = sorted(set(model.__required_keys__) - set(body))
    if missing:
        raise RequestError(f"the request body lacks {', '.join(missing)}")
    return cast(dict[str, Any], body)


def conforms(value: Any, tp: Any) -> bool:
    """Whether a decoded JSON value has the type ``tp`` (the shapes schemas/ uses)."""
    if tp is Any:
        return True
    if tp is None or tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Union or origin is types.UnionType:
        return any(conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and conforms(v, args[1]) for k, v in value.items()
        )
    raise TypeError(f"request bodies cannot declare {tp!r}")


def describe(tp: Any) -> str:
    """Words for a type, for error messages."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is list:
        return "a list of " + {str: "strings", int: "integers", float: "numbers"}.get(
            args[0], "values"
        )
    if origin is dict:
        return "a JSON object of name: value"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )
