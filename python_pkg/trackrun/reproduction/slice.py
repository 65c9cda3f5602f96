"""The dependency slice: which executed inputs a tracked cell needs, in execution order.

Walks the recorded history backwards from the tracked cell, keeping an input when it binds
or may mutate a name still needed, then needing what that input reads. See
docs/reproduce.md for the rules; when in doubt an input is kept.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from trackrun.reproduction.calls import ARG_MUTATORS, PURE_BUILTINS, Site
from trackrun.reproduction.effects import Body, Effects, analyze
from trackrun.reproduction.ipython import Translated, translate
from trackrun.reproduction.shell import SHELL_HELPER

_BUILTIN_NAMES = frozenset(dir(builtins))
_HEADER = re.compile(r"^# In\[(\d+)\]$", re.MULTILINE)
#: Packages with a global random generator: calls into them may draw from it.
RNG_PACKAGES = frozenset({"torch", "numpy", "random", "tensorflow", "cupy", "paddle", "mxnet"})
#: Calls that reset a package's global generator.
SEED_CALLS = frozenset({"seed", "manual_seed", "manual_seed_all", "set_seed", "seed_everything"})
#: Keywords that hand a call its own generator: it does not use the global one.
OWN_GENERATOR = frozenset({"generator", "random_state", "rng", "key"})
#: Module functions known to read only their arguments and never change library state.
PURE_CALLS = frozenset(
    {
        "array", "asarray", "tensor", "as_tensor", "from_numpy", "arange", "linspace", "logspace",
        "zeros", "ones", "full", "empty", "eye", "zeros_like", "ones_like", "full_like",
        "empty_like", "mean", "std", "var", "sum", "prod", "min", "max", "argmin", "argmax",
        "abs", "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tanh", "floor", "ceil",
        "round", "clip", "clamp", "stack", "cat", "concatenate", "hstack", "vstack", "reshape",
        "transpose", "where", "isclose", "allclose", "array_equal", "equal", "dot", "matmul",
        "sort", "argsort", "unique", "median", "percentile", "quantile", "cumsum", "diff",
        "isnan", "isfinite", "nan_to_num", "maximum", "minimum", "no_grad", "inference_mode",
        "Path", "join", "dirname", "basename", "exists", "isfile", "isdir", "getcwd", "dumps",
        "loads", "deepcopy", "copy", "namedtuple", "dataclass", "field", "partial", "perf_counter",
        "time", "monotonic", "strftime", "sleep", "runs", "compare", "metrics", "sql",
        "get_store", "current_run", "Generator", "default_rng", "RandomState", "PCG64",
        "SeedSequence", "lru_cache", "cache", "wraps", "total_ordering", "cached_property",
        "contextmanager", "singledispatch",
    }
)  # fmt: skip


@dataclass
class Input:
    """One executed input ``In[number]``: as recorded, as plain Python, and its effects.

    ``effects`` is None when the code does not parse (it cannot have run); ``failed`` when
    the kernel recorded that it raised.
    """

    number: int
    source: str
    translated: Translated
    failed: bool = False
    effects: Effects | None = None

    @property
    def code(self) -> str:
        return self.translated.code


@dataclass
class Slice:
    """The inputs kept for the tracked cell, and why each input was kept or dropped."""

    kept: list[Input]
    dropped: list[Input]
    reasons: dict[int, str] = field(default_factory=dict)
    #: Names the cell needs that no kept input defines (the params, or values from outside).
    unresolved: set[str] = field(default_factory=set)


def parse_history(text: str) -> list[tuple[int, str]]:
    """Split a ``code/history.py`` text into ``(number, source)`` pairs, in execution order."""
    parts = _HEADER.split(text)
    out = []
    for i in range(1, len(parts) - 1, 2):
        out.append((int(parts[i]), parts[i + 1].strip("\n")))
    return out


def build_inputs(history: Iterable[tuple[int, str]], failed: Iterable[int]) -> list[Input]:
    """Translate and analyse each recorded input; ``failed``: numbers of inputs that raised."""
    failed_set = set(failed)
    inputs = []
    for number, source in history:
        translated = translate(source)
        try:
            effects: Effects | None = analyze(translated.code)
        except SyntaxError:
            effects = None
        if effects is not None and translated.opaque:
            effects.opaque = True
        inputs.append(Input(number, source, translated, number in failed_set, effects))
    return inputs


@dataclass
class _Context:
    """What names refer to just before an input runs (a forward pass builds it)."""

    packages: dict[str, str] = field(default_factory=dict)  # import-bound name -> package
    functions: dict[str, Body] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)

    def advance(self, effects: Effects) -> None:
        for name in effects.binds:
            self.packages.pop(name, None)
            self.functions.pop(name, None)
            self.instances.pop(name, None)
        self.packages.update(effects.imports)
        self.functions.update(effects.functions)
        self.instances.update(effects.instances)


@dataclass
class _Resolved:
    reads: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    kills: set[str] = field(default_factory=set)


def _resolve(effects: Effects, before: _Context) -> _Resolved:
    """Reads, mutations and kills of an input once calls are resolved against ``before``
    (the functions it calls, the packages whose state it may change)."""
    context = _Context(dict(before.packages), dict(before.functions), dict(before.instances))
    context.functions.update(effects.functions)
    context.packages.update(effects.imports)
    out = _Resolved(set(effects.reads), set(effects.mutates), set(effects.kills))
    seeded: set[str] = set()
    _follow_reads(effects.reads, context, out, set())
    # Reading a package's attributes reads its settings (`os.environ["MODE"]` after `%env`).
    out.reads |= {f"{context.packages[n]}:state" for n in out.reads if n in context.packages}
    _resolve_sites(effects.sites, context, out, seeded, set(), conditional=False)
    # A name the input binds before any read is its own new object: changing it in place
    # (``opt = SGD(...); opt.step()``) needs nothing from earlier inputs.
    out.mutates = {m for m in out.mutates if m in effects.reads or m not in effects.binds}
    out.mutates -= out.kills - out.reads  # a generator seeded here owes nothing to earlier inputs
    return out


def _follow_reads(names: Iterable[str], context: _Context, out: _Resolved, seen: set[str]) -> None:
    """A function (or an instance of a notebook class) that is read may be called: it reads
    its own globals at that time."""
    for name in list(names):
        body = context.functions.get(name) or context.functions.get(context.instances.get(name, ""))
        if body is None or name in seen:
            continue
        seen.add(name)
        new = body.reads - out.reads
        out.reads |= body.reads
        out.mutates |= body.mutates
        _follow_reads(new | body.reads, context, out, seen)


def _resolve_sites(
    sites: list[Site],
    context: _Context,
    out: _Resolved,
    seeded: set[str],
    entered: set[str],
    conditional: bool,
) -> None:
    for site in sites:
        when = conditional or site.conditional
        root = site.root
        if root == SHELL_HELPER and not site.path:
            # `!cmd`: what it expands is read (Effects.reads); its effects on files are not
            # followed, as for Python code that writes files (the script runs where they are).
            continue
        package = context.packages.get(root) if root is not None else None
        if package is not None:
            _package_call(site, package, out, seeded, when)
            continue
        if root is not None and not site.path and root in PURE_BUILTINS:
            continue
        if root is None:
            out.mutates |= site.args  # an unknown callee may change what it is given
            continue
        last = site.path[-1] if site.path else root
        if last in ARG_MUTATORS:
            out.mutates |= site.args
        body = context.functions.get(root)
        if body is not None and not site.path:
            out.mutates |= _changed_arguments(site, body)
            if root not in entered:  # recursion: each function's calls once per input
                _resolve_sites(body.sites, context, out, seeded, entered | {root}, when)
            continue
        if root in _BUILTIN_NAMES and not site.path:
            continue
        # A method call or a call of an object: it may change the object.
        out.mutates.add(root)
        cls = context.instances.get(root)
        if cls in context.functions and cls not in entered:
            _resolve_sites(
                context.functions[cls].sites, context, out, seeded, entered | {cls}, when
            )


def _changed_arguments(site: Site, body: Body) -> set[str]:
    """The arguments a call of a notebook function may change: those passed to parameters
    its body changes (all of them when ``*args``/``**kwargs`` hide the mapping)."""
    if not body.params and not body.mutated_params:
        return set()
    if site.starred:
        return set(site.args) if body.mutated_params else set()
    out = {
        root
        for param, root in zip(body.params, site.positional, strict=False)
        if root is not None and param in body.mutated_params
    }
    out |= {root for key, root in site.named if root is not None and key in body.mutated_params}
    return out


def _package_call(
    site: Site, package: str, out: _Resolved, seeded: set[str], conditional: bool
) -> None:
    """A call into an imported package: reads its settings; may draw from or reset its
    global random generator; changes settings when it looks like a setter."""
    words = (site.root or "", *site.path)
    last = words[-1]
    state, rng = f"{package}:state", f"{package}:rng"
    out.reads.add(state)
    if "()" in site.path:
        # A method of an object the package just made (``torch.Generator().manual_seed(1)``):
        # the inner call is a site of its own; this one changes only that new object.
        return
    if last in PURE_CALLS and not site.out:
        return
    if site.out or last in ARG_MUTATORS or (last.endswith("_") and not last.startswith("_")):
        out.mutates |= site.args  # in place: torch's trailing underscore, out=, shuffle
    if site.keywords & OWN_GENERATOR:
        return
    if any(w in SEED_CALLS for w in words):
        if not conditional and package not in seeded:
            seeded.add(package)
            out.kills.add(rng)
        out.mutates.add(rng)
        return
    if package in RNG_PACKAGES:
        if package not in seeded:
            out.reads.add(rng)
        out.mutates.add(rng)
    if package not in RNG_PACKAGES or last.startswith(("set", "use", "enable", "disable")):
        out.mutates.add(state)


def compute_slice(
    inputs: list[Input],
    target: Effects,
    provided: Iterable[str] = (),
    packages: Mapping[str, str] | None = None,
) -> Slice:
    """Keep the inputs ``target`` depends on. ``provided``: names set just before the target
    (the params block), which therefore need no input. ``packages``: names the script binds
    before every input (its preamble's imports), each with its package: calls through them
    are package calls, and they are never unresolved.

    Failed and unparseable inputs are dropped first; an opaque input (exec, ``%run``) or a
    star import is kept whenever something is still needed.
    """
    reasons: dict[int, str] = {}
    usable: list[tuple[Input, _Resolved]] = []
    context = _Context(packages=dict(packages or {}))
    for item in inputs:
        if item.failed:
            reasons[item.number] = "failed (raised an error)"
            continue
        if item.effects is None:
            reasons[item.number] = "does not parse, so it never ran"
            continue
        usable.append((item, _resolve(item.effects, context)))
        context.advance(item.effects)
    final = _resolve(target, context)
    needed = (final.reads | final.mutates) - set(provided)
    kept: list[Input] = []
    for item, resolved in reversed(usable):
        effects = item.effects
        assert effects is not None
        touched = (effects.binds | resolved.mutates | resolved.kills) & needed
        if effects.opaque:
            why = "kept: runs code the analysis cannot see (exec, globals(), %run)"
        elif effects.star and needed:
            why = "kept: `from ... import *` may define needed names"
        elif touched:
            why = "kept: defines or changes " + ", ".join(sorted(_shown(touched)))
        else:
            reasons[item.number] = "dropped: nothing the cell needs"
            continue
        reasons[item.number] = why
        kept.append(item)
        needed = (needed - (effects.kills | resolved.kills)) | resolved.reads | resolved.mutates
    kept.reverse()
    kept_numbers = {i.number for i in kept}
    dropped = [i for i in inputs if i.number not in kept_numbers]
    known = _BUILTIN_NAMES | set(packages or {}) | {SHELL_HELPER}
    maybe = _only_optional([target, *(e for i, _ in usable if (e := i.effects) is not None)])
    unresolved = {n for n in needed if ":" not in n and n not in known and n not in maybe}
    return Slice(kept, dropped, reasons, unresolved)


def _only_optional(effects: list[Effects]) -> set[str]:
    """Names read only where they may not exist (``$HOME`` in ``!cmd`` is the shell's when
    no notebook name matches): no input defining them is not a missing input."""
    optional: set[str] = set()
    hard: set[str] = set()
    for item in effects:
        for reads, maybe in [
            (item.reads, item.optional),
            *((b.reads, b.optional) for b in item.functions.values()),
        ]:
            optional |= maybe
            hard |= reads - maybe
    return optional - hard


def _shown(names: set[str]) -> list[str]:
    """Readable names: ``torch:rng`` becomes "torch's random state"."""
    out = []
    for name in names:
        package, _, kind = name.partition(":")
        if kind == "rng":
            out.append(f"{package}'s random state")
        elif kind == "state":
            out.append(f"{package}'s settings")
        else:
            out.append(name)
    return out
