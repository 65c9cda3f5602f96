"""What one executed input does to the namespace: names it reads, binds, mutates and calls.

The slice (``slice.py``) combines these per-input facts; everything here is syntactic and
errs towards "may": a call on a name may mutate it, a name passed to a call may be mutated.
The call sites and the rules for what a call may change are ``calls.py``'s; this module
adds what a statement binds, its ``!cmd`` reads, and its definitions (``def``, ``class``,
``name = lambda``, decorators, ``partial``).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from trackrun.cellcode import analyze_nodes, function_locals
from trackrun.reproduction.calls import (
    FUNCTION_NODES,
    Site,
    callee,
    collect_mutations_and_calls,
    params_mutated_by,
    shell_calls,
)
from trackrun.reproduction.shell import command_reads

_CONDITIONAL = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.Match)


@dataclass
class Body:
    """A function or class defined at top level: what calling it reads and may change
    (global names only; its locals are its own). ``params``: positional parameter names;
    ``mutated_params``: the parameters whose objects the body may change in place;
    ``optional``: reads that happen only when the name exists (``$name`` in ``!cmd``)."""

    reads: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    sites: list[Site] = field(default_factory=list)
    params: tuple[str, ...] = ()
    mutated_params: frozenset[str] = frozenset()
    optional: set[str] = field(default_factory=set)


@dataclass
class Effects:
    """Facts about one input.

    ``reads``: names read at execution time (function bodies excluded: they are read when
    called, see ``functions``); ``kills``: names rebound unconditionally at top level;
    ``binds``: every name bound (also inside ``if``/``for``/``try``); ``imports``: names
    bound by ``import``, with the top-level package each comes from; ``mutates``: names
    changed in place by assignment or ``del`` of an attribute/item, or augmented assignment;
    ``sites``: calls, in source order (a decorator is a call when its ``def`` runs);
    ``functions``: top-level ``def``/``class`` and ``name = lambda ...``; ``instances``:
    ``x = C(...)`` at top level, and ``x = partial(f, ...)`` (calling ``x`` calls ``f``);
    ``optional``: top-level reads that happen only when the name exists (``$name`` in
    ``!cmd``; a function's are in its Body); ``star``: ``from m import *``; ``opaque``:
    uses exec/eval/globals() and friends.
    """

    reads: set[str] = field(default_factory=set)
    kills: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)
    imports: dict[str, str] = field(default_factory=dict)
    mutates: set[str] = field(default_factory=set)
    sites: list[Site] = field(default_factory=list)
    functions: dict[str, Body] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    optional: set[str] = field(default_factory=set)
    star: bool = False
    opaque: bool = False


def analyze(source: str) -> Effects:
    """The effects of Python ``source``; raises SyntaxError when it does not parse."""
    tree = ast.parse(source)
    out = Effects()
    shallow = [_without_function_bodies(s) for s in tree.body]
    out.reads = set(analyze_nodes(shallow).free)
    for statement in tree.body:
        _bindings(statement, out, conditional=False)
        lambda_names = _lambda_names(statement)
        if isinstance(statement, (*FUNCTION_NODES, ast.ClassDef)):
            out.functions[statement.name] = _body(statement)
            for part in _header_nodes(statement):
                out.opaque |= collect_mutations_and_calls(
                    part, out.mutates, out.sites, set(), False
                )
            # Decorators are called with the new function or class, innermost first.
            for decorator in reversed(statement.decorator_list):
                root, path = callee(decorator)
                out.sites.append(Site(root, path, frozenset(), positional=(None,)))
        elif lambda_names:
            value = statement.value  # type: ignore[attr-defined]
            for name in lambda_names:
                out.functions[name] = _body(_lambda_function(name, value))
            for part in _header_nodes(value):
                out.opaque |= collect_mutations_and_calls(
                    part, out.mutates, out.sites, set(), False
                )
        else:
            out.opaque |= collect_mutations_and_calls(
                statement, out.mutates, out.sites, set(), _is_conditional(statement)
            )
            shell = _shell_reads(statement, set())
            out.optional |= shell - out.reads
            out.reads |= shell
            if any(not call.keywords for call in shell_calls(statement)):
                out.binds.add("_exit_code")  # IPython's `!cmd` sets it; `x = !cmd` does not
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
        ):
            called = _called_through(statement.value)
            if called is not None:
                out.instances[statement.targets[0].id] = called
    return out


def _called_through(call: ast.Call) -> str | None:
    """What calling the result of ``call`` runs: ``C`` for ``C(...)`` (an instance of a
    notebook class may run its methods), ``f`` for ``partial(f, ...)``."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name == "partial" and call.args and isinstance(call.args[0], ast.Name):
        return call.args[0].id
    return func.id if isinstance(func, ast.Name) else None


def _lambda_names(statement: ast.stmt) -> list[str]:
    """The names of ``name = lambda ...`` (also ``a = b = lambda``, ``f: T = lambda``)."""
    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Lambda):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Lambda):
        targets = [statement.target]
    else:
        return []
    if all(isinstance(t, ast.Name) for t in targets):
        return [t.id for t in targets]  # type: ignore[attr-defined]
    return []


def _lambda_function(name: str, node: ast.Lambda) -> ast.FunctionDef:
    """``def name(args): return body``: a lambda's body runs when it is called."""
    function = ast.FunctionDef(
        name=name, args=node.args, body=[ast.Return(node.body)], decorator_list=[]
    )
    return ast.fix_missing_locations(ast.copy_location(function, node))


def _without_function_bodies(statement: ast.stmt) -> ast.stmt:
    """A top-level ``def`` reads only its decorators and defaults when it runs; so does
    ``name = lambda ...`` (its body reads its globals when called)."""
    if isinstance(statement, FUNCTION_NODES):
        clone = copy.copy(statement)
        clone.body = [ast.Pass()]
        return clone
    if _lambda_names(statement) and isinstance(statement, (ast.Assign, ast.AnnAssign)):
        assigned = copy.copy(statement)
        value = copy.copy(statement.value)
        assert isinstance(value, ast.Lambda)
        value.body = ast.Constant(None)
        assigned.value = value
        return assigned
    return statement


def _shell_reads(node: ast.AST, local: set[str]) -> set[str]:
    """Global names the ``!cmd`` lines in ``node`` expand (``$name``, ``{expr}``)."""
    out: set[str] = set()
    for call in shell_calls(node):
        out |= command_reads(call.args[0].value) - local  # type: ignore[attr-defined]
    return out


def _header_nodes(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda,
) -> list[ast.AST]:
    """What a definition evaluates when it runs: decorators, bases, defaults."""
    parts: list[ast.AST] = [] if isinstance(node, ast.Lambda) else list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += [*node.bases, *(k.value for k in node.keywords)]
    else:
        parts += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    return parts


def _bindings(node: ast.stmt, out: Effects, conditional: bool) -> None:
    """Record the names ``node`` binds at top level; unconditional ones also kill."""

    def bind(name: str, kill: bool = True) -> None:
        out.binds.add(name)
        if kill and not conditional:
            out.kills.add(name)

    if isinstance(node, (*FUNCTION_NODES, ast.ClassDef)):
        bind(node.name)
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name == "*":
                out.star = True
                continue
            name = alias.asname or alias.name.split(".")[0]
            bind(name)
            module = node.module if isinstance(node, ast.ImportFrom) else alias.name
            out.imports[name] = (module or "").split(".")[0]
        return
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return
    if isinstance(node, ast.Delete):
        for target in node.targets:
            if isinstance(target, ast.Name):
                bind(target.id)
        return
    nested = conditional or isinstance(node, _CONDITIONAL)
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            _bindings(child, out, nested)
        elif isinstance(child, ast.ExceptHandler):
            for statement in child.body:
                _bindings(statement, out, True)
            if child.name:
                bind(child.name, kill=False)
        elif isinstance(child, ast.match_case):
            for statement in child.body:
                _bindings(statement, out, True)
    for sub in _own_expressions(node):
        for found in ast.walk(sub):
            if isinstance(found, ast.Name) and isinstance(found.ctx, ast.Store):
                # A for-loop target is bound only if the loop runs once; a walrus in a
                # condition is conditional too (nested = True covers both).
                bind(found.id, kill=not nested and not isinstance(node, ast.AugAssign))


def _own_expressions(node: ast.stmt) -> list[ast.AST]:
    """The expressions of ``node`` itself (not of statements nested in its body)."""
    return [c for c in ast.iter_child_nodes(node) if isinstance(c, (ast.expr, ast.withitem))]


def _is_conditional(statement: ast.stmt) -> bool:
    return isinstance(statement, _CONDITIONAL)


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Body:
    """What calling ``node`` reads and may change, as globals (a class: all its methods)."""
    body = Body(reads=set(analyze_nodes([node]).free))
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    if isinstance(node, ast.ClassDef):
        functions = [s for s in ast.walk(node) if isinstance(s, FUNCTION_NODES)]
        for statement in node.body:
            if not isinstance(statement, FUNCTION_NODES):
                collect_mutations_and_calls(statement, body.mutates, body.sites, set(), True)
    else:
        nested = [s for s in ast.walk(node) if isinstance(s, FUNCTION_NODES) and s is not node]
        functions = [node, *nested]
    if not isinstance(node, ast.ClassDef):
        args = node.args
        body.params = tuple(a.arg for a in [*args.posonlyargs, *args.args])
        every = {*body.params, *(a.arg for a in args.kwonlyargs)}
        body.mutated_params = frozenset(params_mutated_by(node, every))
    for function in functions:
        local = function_locals(function)
        declared = {n for s in ast.walk(function) if isinstance(s, ast.Global) for n in s.names}
        for statement in function.body:
            collect_mutations_and_calls(
                statement, body.mutates, body.sites, local, _is_conditional(statement)
            )
            shell = _shell_reads(statement, local)
            body.optional |= shell - body.reads
            body.reads |= shell
            for sub in ast.walk(statement):
                if (
                    isinstance(sub, ast.Name)
                    and sub.id in declared
                    and not isinstance(sub.ctx, ast.Load)
                ):
                    body.mutates.add(sub.id)
    return body
