"""What a cell's code reads and writes: free names (inputs) and assigned names, from its AST."""

from __future__ import annotations

import ast
import builtins
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_BUILTINS = frozenset(dir(builtins))


@dataclass
class CellNames:
    """Names of a cell, in order of first appearance.

    ``free``: names read before the cell binds them (its inputs from the namespace).
    ``assigned``: names the cell binds at top level (its outputs).
    """

    free: list[str] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)


def analyze_cell(source: str) -> CellNames:
    """Find the free and assigned names of Python ``source`` (already IPython-transformed).

    Reads inside functions, lambdas and comprehensions count as free when the name is not
    local there; builtins are never free. Raises SyntaxError for code that does not parse.
    """
    return analyze_nodes(ast.parse(source).body)


def analyze_nodes(statements: Sequence[ast.stmt]) -> CellNames:
    """``analyze_cell`` for statements already parsed (e.g. one function definition)."""
    visitor = _Scope()
    for statement in statements:
        visitor.visit(statement)
    return CellNames(free=visitor.free, assigned=visitor.assigned_order)


def function_locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names local to a function: its parameters and every name its body binds (unless
    declared ``global``/``nonlocal``)."""
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    return {a.arg for a in every} | _locally_bound(body)


class _Scope(ast.NodeVisitor):
    """Walks top-level statements in execution order, tracking what is bound so far."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.free: list[str] = []
        self.assigned_order: list[str] = []

    def _read(self, name: str) -> None:
        if name not in self.bound and name not in self.free and name not in _BUILTINS:
            self.free.append(name)

    def _bind(self, name: str) -> None:
        self.bound.add(name)
        if name not in self.assigned_order:
            self.assigned_order.append(name)

    # -- names ----------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        else:
            self._bind(node.id)

    # -- evaluation order: value before target ------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For  # noqa: N815

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With  # noqa: N815

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import  # noqa: N815

    def visit_Global(self, node: ast.Global) -> None:
        return

    # -- nested scopes: their own locals are not free -----------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_defaults(node.args)
        self._bind(node.name)
        self._nested(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)
        self._nested(node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self._bind(node.name)
        self._nested(None, node.body)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        inner = _nested_scope(self, set())
        for generator in node.generators:
            inner.visit(generator.iter)
            inner.visit_target_locally(generator.target)
            for condition in generator.ifs:
                inner.visit(condition)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            inner.visit(part)
        self._merge(inner)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension  # noqa: N815

    def _visit_defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)

    def _nested(
        self, args: ast.arguments | None, body: list[ast.AST] | list[ast.stmt] | list[ast.expr]
    ) -> None:
        local: set[str] = set()
        if args is not None:
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            local = {a.arg for a in every}
        local |= _locally_bound(body)
        inner = _nested_scope(self, local)
        for statement in body:
            inner.visit(statement)
        self._merge(inner)

    def _merge(self, inner: _Scope) -> None:
        for name in inner.free:
            self._read(name)


class _Inner(_Scope):
    """A nested scope: binds stay local; reads of non-local names are reported upward."""

    def __init__(self, outer: _Scope, local: set[str]) -> None:
        super().__init__()
        self.bound = set(local) | set(outer.bound)

    def _bind(self, name: str) -> None:
        self.bound.add(name)

    def visit_target_locally(self, target: ast.AST) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                self.bound.add(node.id)


def _nested_scope(outer: _Scope, local: set[str]) -> _Inner:
    return _Inner(outer, local)


def _locally_bound(body: list[ast.AST] | list[ast.stmt] | list[ast.expr]) -> set[str]:
    """Names a function body binds anywhere (Python makes them local for the whole body)."""
    names: set[str] = set()
    declared_global: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name.split(".")[0]) for a in node.names)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                declared_global.update(node.names)
    return names - declared_global


#: Longest string, and most items of a list/tuple/dict, recorded as an automatic param.
_MAX_PARAM_STR = 200
_MAX_PARAM_ITEMS = 20


def simple_value(value: Any) -> bool:
    """True for values worth recording as a param: bool, int, float, short str, None, and
    short lists/tuples/dicts of those."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= _MAX_PARAM_STR
    if isinstance(value, (list, tuple)):
        return len(value) <= _MAX_PARAM_ITEMS and all(
            v is None or isinstance(v, (bool, int, float, str)) and simple_value(v) for v in value
        )
    if isinstance(value, dict):
        return len(value) <= _MAX_PARAM_ITEMS and all(
            isinstance(k, str)
            and (v is None or isinstance(v, (bool, int, float, str)))
            and simple_value(v)
            for k, v in value.items()
        )
    return False


def auto_params(namespace: Mapping[str, Any], free: list[str]) -> dict[str, Any]:
    """Params from the cell's free names whose values in ``namespace`` are simple."""
    out: dict[str, Any] = {}
    for name in free:
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        if simple_value(value):
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def final_scalars(namespace: Mapping[str, Any], assigned: list[str]) -> dict[str, float]:
    """Scalar numbers (int, float, numpy scalars, 0-d tensors) left in the names a cell
    assigned, e.g. a final ``loss``; these become the run's final metric values."""
    out: dict[str, float] = {}
    for name in assigned:
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, bool):
            continue
        if isinstance(value, numbers.Real):
            out[name] = float(value)
        elif getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
            try:
                item = value.item()
            except (RuntimeError, ValueError):
                continue
            if isinstance(item, numbers.Real) and not isinstance(item, bool):
                out[name] = float(item)
    return out
