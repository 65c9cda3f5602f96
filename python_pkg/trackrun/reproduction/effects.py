"""What one executed input does to the namespace: names it reads, binds, mutates and calls.

The slice (``slice.py``) combines these per-input facts; everything here is syntactic and
errs towards "may": a call on a name may mutate it, a name passed to a call may be mutated.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from trackrun.cellcode import analyze_nodes, function_locals
from trackrun.reproduction.shell import SHELL_HELPER, command_reads

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
_CONDITIONAL = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.Match)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


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
        if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
            out.functions[statement.name] = _body(statement)
            for part in _header_nodes(statement):
                _collect(part, out.mutates, out.sites, set(), out, False)
            # Decorators are called with the new function or class, innermost first.
            for decorator in reversed(statement.decorator_list):
                root, path = _callee(decorator)
                out.sites.append(Site(root, path, frozenset(), positional=(None,)))
        elif lambda_names:
            value = statement.value  # type: ignore[attr-defined]
            for name in lambda_names:
                out.functions[name] = _body(_lambda_function(name, value))
            for part in _header_nodes(value):
                _collect(part, out.mutates, out.sites, set(), out, False)
        else:
            _collect(statement, out.mutates, out.sites, set(), out, _is_conditional(statement))
            shell = _shell_reads(statement, set())
            out.optional |= shell - out.reads
            out.reads |= shell
            if any(not call.keywords for call in _shell_calls(statement)):
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
    if isinstance(statement, _FUNCTIONS):
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


def _shell_calls(node: ast.AST) -> list[ast.Call]:
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


def _shell_reads(node: ast.AST, local: set[str]) -> set[str]:
    """Global names the ``!cmd`` lines in ``node`` expand (``$name``, ``{expr}``)."""
    out: set[str] = set()
    for call in _shell_calls(node):
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

    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
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


def _collect(
    node: ast.AST,
    mutates: set[str],
    sites: list[Site],
    local: set[str],
    out: Effects | None,
    conditional: bool,
) -> None:
    """Add the in-place mutations and calls in ``node`` (names in ``local`` are not global).

    Calls in nested statements of ``node`` are conditional when ``node`` is; a ``with`` body
    runs unconditionally, so only if/loops/try make a call conditional. The ``globals()``
    and ``locals()`` handed to the ``!cmd`` helper do not make an input opaque: the names
    the command expands are known (``_shell_reads``).
    """
    helper_args = {id(a) for call in _shell_calls(node) for a in call.args}
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
            root, path = _callee(sub.func)
            if out is not None and root in OPAQUE_CALLS and not path:
                out.opaque = True
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


def _walk_in_order(node: ast.AST) -> list[ast.AST]:
    """Nodes of ``node`` in source order, not entering nested function or class bodies."""
    found: list[ast.AST] = []

    def visit(current: ast.AST) -> None:
        found.append(current)
        if isinstance(current, (*_FUNCTIONS, ast.ClassDef)) and current is not node:
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


def _callee(func: ast.expr) -> tuple[str | None, tuple[str, ...]]:
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


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Body:
    """What calling ``node`` reads and may change, as globals (a class: all its methods)."""
    body = Body(reads=set(analyze_nodes([node]).free))
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    if isinstance(node, ast.ClassDef):
        functions = [s for s in ast.walk(node) if isinstance(s, _FUNCTIONS)]
        for statement in node.body:
            if not isinstance(statement, _FUNCTIONS):
                _collect(statement, body.mutates, body.sites, set(), None, True)
    else:
        nested = [s for s in ast.walk(node) if isinstance(s, _FUNCTIONS) and s is not node]
        functions = [node, *nested]
    if not isinstance(node, ast.ClassDef):
        args = node.args
        body.params = tuple(a.arg for a in [*args.posonlyargs, *args.args])
        every = {*body.params, *(a.arg for a in args.kwonlyargs)}
        body.mutated_params = frozenset(_mutated_params(node, every))
    for function in functions:
        local = function_locals(function)
        declared = {n for s in ast.walk(function) if isinstance(s, ast.Global) for n in s.names}
        for statement in function.body:
            _collect(statement, body.mutates, body.sites, local, None, _is_conditional(statement))
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


def _mutated_params(node: ast.FunctionDef | ast.AsyncFunctionDef, params: set[str]) -> set[str]:
    """Parameters whose objects the body may change: assigned attributes or items,
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
                root, path = _callee(sub.func)
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
