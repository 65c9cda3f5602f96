"""Calls and in-place changes in Python syntax: the call sites of a statement, the names it
changes in place, and the rules for what a call may change.

Like ``effects``, everything here is syntactic and errs towards "may": a call that is not
known to be pure may change the objects passed to it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from trackrun.reproduction.shell import SHELL_HELPER

#: Builtins that run arbitrary code or reach the namespace: an input using them is opaque.
OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "locals", "vars", "__import__", "compile"})
#: Builtins that neither change their arguments nor run notebook code of their own.
PURE_BUILTINS = frozenset(
    {
        "print", "len", "range", "isinstance", "issubclass", "type", "id", "hash", "repr", "str",
        "int", "float", "bool", "complex", "list", "tuple", "dict", "set", "frozenset", "sorted",
        "reversed", "enumerate", "zip", "min", "max", "sum", "abs", "round", "any", "all", "hasattr",
        "getattr", "callable", "format", "divmod", "pow", "chr", "ord", "bin", "hex", "oct",
        "ascii", "open", "super", "object", "slice", "bytes", "bytearray", "memoryview", "map",
        "filter", "iter",
    }
)  # fmt: skip
#: Calls known to change an argument in place (besides library functions ending in ``_``).
ARG_MUTATORS = frozenset(
    {
        "shuffle", "heappush", "heappop", "heapify", "heapreplace", "heappushpop", "insort",
        "insort_left", "insort_right", "copyto", "put", "place", "putmask", "fill_diagonal",
        "setattr", "delattr", "next", "clip_grad_norm_", "clip_grad_value_",
    }
)  # fmt: skip
#: The nodes of a ``def``: their bodies run when called, not when defined.
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Site:
    """One call: ``root.path[0].path[1](...)``; ``root`` is None when the callee has no
    base name (``f()()``). ``args``: base names of the arguments (they may be mutated).
    ``out``: an ``out=`` keyword (numpy style) writes into an argument. ``conditional``:
    inside an ``if``/loop/``try``, so it may not run. ``keywords``: its keyword names;
    ``positional``/``named``: the base name of each argument (for mapping them to a notebook
    function's parameters); ``starred``: ``*args``/``**kwargs`` hide the mapping."""

    root: str | None
    path: tuple[str, ...]
    args: frozenset[str]
    out: bool = False
    conditional: bool = False
    keywords: frozenset[str] = frozenset()
    positional: tuple[str | None, ...] = ()
    named: tuple[tuple[str, str | None], ...] = ()
    starred: bool = False


def collect_mutations_and_calls(
    node: ast.AST,
    mutates: set[str],
    sites: list[Site],
    local: set[str],
    conditional: bool,
) -> bool:
    """Add the in-place mutations and calls in ``node`` (names in ``local`` are not global);
    return whether ``node`` calls one of ``OPAQUE_CALLS`` (the input is then opaque).

    Calls in nested statements of ``node`` are conditional when ``node`` is; a ``with`` body
    runs unconditionally, so only if/loops/try make a call conditional. The ``globals()``
    and ``locals()`` handed to the ``!cmd`` helper do not make an input opaque: the names
    the command expands are known (``effects``' ``_shell_reads``).
    """
    helper_args = {id(a) for call in shell_calls(node) for a in call.args}
    opaque = False
    for sub in _walk_in_order(node):
        if id(sub) in helper_args:
            continue
        if isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = sub.targets if isinstance(sub, (ast.Assign, ast.Delete)) else [sub.target]
            for target in targets:
                for part in _targets(target):
                    if isinstance(part, (ast.Attribute, ast.Subscript)):
                        _add(mutates, root_name(part), local)
                    elif isinstance(sub, ast.AugAssign) and isinstance(part, ast.Name):
                        _add(mutates, part.id, local)
        elif isinstance(sub, ast.Call):
            root, path = callee(sub.func)
            if root in OPAQUE_CALLS and not path:
                opaque = True
            positional = tuple(_global(data_root(a), local) for a in sub.args)
            named = tuple(
                (k.arg, _global(data_root(k.value), local)) for k in sub.keywords if k.arg
            )
            roots = [*positional, *(r for _, r in named)]
            roots += [_global(data_root(k.value), local) for k in sub.keywords if not k.arg]
            names = frozenset(k.arg for k in sub.keywords if k.arg)
            starred = any(isinstance(a, ast.Starred) for a in sub.args) or any(
                not k.arg for k in sub.keywords
            )
            site = Site(
                None if root in local else root,
                path,
                frozenset(a for a in roots if a is not None),
                "out" in names,
                conditional,
                names,
                positional,
                named,
                starred,
            )
            sites.append(site)
    return opaque


def shell_calls(node: ast.AST) -> list[ast.Call]:
    """The ``_sh(template, globals(), locals())`` calls of translated ``!cmd`` lines in
    ``node``, not inside nested functions or classes."""
    return [
        sub
        for sub in _walk_in_order(node)
        if isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Name)
        and sub.func.id == SHELL_HELPER
        and sub.args
        and isinstance(sub.args[0], ast.Constant)
        and isinstance(sub.args[0].value, str)
    ]


def _walk_in_order(node: ast.AST) -> list[ast.AST]:
    """Nodes of ``node`` in source order, not entering nested function or class bodies."""
    found: list[ast.AST] = []

    def visit(current: ast.AST) -> None:
        found.append(current)
        if isinstance(current, (*FUNCTION_NODES, ast.ClassDef)) and current is not node:
            return
        for child in ast.iter_child_nodes(current):
            visit(child)

    visit(node)
    return sorted(found, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def _targets(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [p for e in target.elts for p in _targets(e)]
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    return [target]


def _add(names: set[str], name: str | None, local: set[str]) -> None:
    if name is not None and name not in local:
        names.add(name)


def _global(name: str | None, local: set[str]) -> str | None:
    return None if name is None or name in local else name


def data_root(node: ast.AST) -> str | None:
    """The name whose object an argument expression refers into: ``x`` for ``x``, ``x.a``,
    ``x[i]`` and ``x.parameters()`` (a method result may alias its object); None for a fresh
    value such as ``len(x)`` or ``x + 1``."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        else:
            return None


def root_name(node: ast.AST) -> str | None:
    """The base name of ``a.b[c].d`` or ``a.b()`` (``a``), or None for other expressions."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def callee(func: ast.expr) -> tuple[str | None, tuple[str, ...]]:
    """The base name and path of a called expression: ``("a", ("b", "[]", "c"))`` for
    ``a.b[i].c`` (``"()"`` for a call on the way); the name is None when there is none."""
    path: list[str] = []
    node: ast.AST = func
    while True:
        if isinstance(node, ast.Name):
            return node.id, tuple(reversed(path))
        if isinstance(node, ast.Attribute):
            path.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            path.append("[]")
            node = node.value
        elif isinstance(node, ast.Call):
            path.append("()")
            node = node.func
        else:
            return None, tuple(reversed(path))


def params_mutated_by(node: ast.FunctionDef | ast.AsyncFunctionDef, params: set[str]) -> set[str]:
    """The ``params`` of ``node`` whose objects its body may change: assigned attributes or items,
    augmented assignment, method calls or calls of them, or passing them to a notebook
    function (unknown here, so it may) or to an in-place call (``shuffle``, ``..._``)."""
    out: set[str] = set()
    for statement in node.body:
        for sub in _walk_in_order(statement):
            if isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = sub.targets if isinstance(sub, (ast.Assign, ast.Delete)) else [sub.target]
                for target in targets:
                    for part in _targets(target):
                        name = root_name(part) if not isinstance(part, ast.Name) else None
                        if isinstance(sub, ast.AugAssign) and isinstance(part, ast.Name):
                            name = part.id
                        if name in params:
                            out.add(name)
            elif isinstance(sub, ast.Call):
                root, path = callee(sub.func)
                if root in params:
                    out.add(root)  # p.method(...) or p(...)
                last = path[-1] if path else root or ""
                changes_args = (
                    last in ARG_MUTATORS
                    or (last.endswith("_") and not last.startswith("_") and bool(path))
                    or (not path and root is not None and root not in PURE_BUILTINS
                        and root not in params)
                )  # fmt: skip
                if changes_args:
                    for arg in [*sub.args, *(k.value for k in sub.keywords)]:
                        name = data_root(arg)
                        if name in params:
                            out.add(name)
    return out
