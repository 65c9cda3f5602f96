"""docs/openapi.json, generated from the models in schemas/ and the routes in handlers/.

``python -m trackrun.server.openapi > docs/openapi.json`` writes it;
``python -m trackrun.server.openapi --check docs/openapi.json`` fails when it is stale.
"""

from __future__ import annotations

import json
import re
import sys
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from trackrun.server import schemas
from trackrun.server.handlers import ROUTES

_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class _Components:
    """Named schemas, collected as models are met."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, name: str, build: Any) -> dict[str, Any]:
        if name not in self.schemas:
            self.schemas[name] = {}  # reserve the name first: models may nest
            self.schemas[name] = build()
        return {"$ref": f"#/components/schemas/{name}"}


def schema_of(tp: Any, components: _Components) -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of a type annotation.

    Raises TypeError for an annotation the wire cannot carry.
    """
    for name, alias in schemas.NAMED_TYPES.items():
        # By identity: another ``dict[str, Any]`` is not a VegaLiteSpec.
        if tp is alias:
            return components.ref(name, lambda alias=alias: _structural(alias, components))
    if is_typeddict(tp):
        return components.ref(tp.__name__, lambda: _object(tp, components))
    return _structural(tp, components)


def _structural(tp: Any, components: _Components) -> dict[str, Any]:
    if tp is Any:
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}
    if tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[tp]}
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is Union or origin is types.UnionType:
        members = [schema_of(arg, components) for arg in args]
        if all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
            return {"type": [m["type"] for m in members]}
        return {"anyOf": members}
    if origin is list:
        return {"type": "array", "items": schema_of(args[0], components)}
    if origin is tuple:
        return {
            "type": "array",
            "prefixItems": [schema_of(arg, components) for arg in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(args[1], components)}
    if is_typeddict(tp):
        return schema_of(tp, components)
    raise TypeError(f"the wire contract cannot carry {tp!r}: use a model of server/schemas/")


def _object(model: Any, components: _Components) -> dict[str, Any]:
    hints = get_type_hints(model)
    schema: dict[str, Any] = {"type": "object"}
    if model.__doc__ and not model.__doc__.startswith(model.__name__ + "("):
        schema["description"] = " ".join(model.__doc__.split())
    schema["properties"] = {key: schema_of(tp, components) for key, tp in hints.items()}
    required = [key for key in hints if key in model.__required_keys__]
    if required:
        schema["required"] = required
    # A key the model does not declare is a contract break, not an extension.
    schema["additionalProperties"] = False
    return schema


def _query_parameters(model: Any, components: _Components) -> list[dict[str, Any]]:
    parameters = []
    for key, tp in get_type_hints(model).items():
        schema = {"type": "string"} if get_origin(tp) is list else schema_of(tp, components)
        entry: dict[str, Any] = {"name": key, "in": "query", "required": False, "schema": schema}
        if get_origin(tp) is list:
            entry["description"] = "comma-separated"
        parameters.append(entry)
    return parameters


def _operation(
    method: str, path: str, op: schemas.Operation, components: _Components
) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": _operation_id(method, path), "summary": op.summary}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schemas.PATH_PARAMETERS[name]}
        for name in _PLACEHOLDER.findall(path)
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, components)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": schema_of(op.body, components)}},
        }
    if op.answer is None:
        content = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
    else:
        content = {"application/json": {"schema": schema_of(op.answer, components)}}
    responses: dict[str, Any] = {str(op.status): {"description": op.summary, "content": content}}
    if op.not_modified:
        responses["304"] = {"description": "nothing changed since the ETag in If-None-Match"}
    error = {"application/json": {"schema": schema_of(schemas.ErrorBody, components)}}
    for code in sorted({*op.errors, 403, 503}):
        responses[str(code)] = {"description": _ERROR_MEANING[code], "content": error}
    out["responses"] = responses
    return out


_ERROR_MEANING = {
    400: "bad input: the message names the parameter and the fix",
    403: "not authenticated, not authorized, or a cookie write without the XSRF token",
    404: "no such run or file",
    409: "the run's state does not allow it, or the id prefix is ambiguous",
    503: "the run store cannot be used now (its index stayed locked, or a disk error)",
}


def _operation_id(method: str, path: str) -> str:
    words = [w.strip("{}") for w in path.split("/")]
    return method + "".join(w[:1].upper() + w[1:] for w in "_".join(words).split("_"))


def build() -> dict[str, Any]:
    """The OpenAPI 3.1 document of /trackrun/api/, from the routes and their operations."""
    components = _Components()
    paths: dict[str, Any] = {}
    for path, handler in ROUTES:
        entry = paths.setdefault("/" + path, {})
        for method, op in handler.operations.items():
            entry[method] = _operation(method, path, op, components)
    schema_of(schemas.ErrorBody, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trackrun REST API",
            "version": "1",
            "description": (
                "Served by the trackrun Jupyter server extension under /trackrun/api/. "
                "Every route needs Jupyter's authentication and the `trackrun` resource; "
                "cookie-authenticated writes also need the XSRF token. Non-finite metric "
                "values travel as the strings NaN, Infinity, -Infinity. Generated from "
                "python_pkg/trackrun/server/schemas/: do not edit by hand."
            ),
        },
        "servers": [{"url": "/trackrun/api"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.schemas.items()))},
    }


def render() -> str:
    """The document as the text of docs/openapi.json."""
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    """Print the document, or with ``--check FILE`` exit 1 when FILE differs from it."""
    text = render()
    if argv[:1] == ["--check"] and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as f:
            if f.read() == text:
                return 0
        print(
            f"{argv[1]} is stale: regenerate it with `jlpm contract:generate`"
            " (python -m trackrun.server.openapi > docs/openapi.json)",
            file=sys.stderr,
        )
        return 1
    if argv:
        print("usage: python -m trackrun.server.openapi [--check FILE]", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
