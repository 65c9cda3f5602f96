"""The sweep grammar: parsing ``lr=[1e-3, 1e-2] seed=range(3)`` and expanding it into points.

A sweep is whitespace-separated ``NAME=VALUES`` entries (a comma between entries is allowed
too). ``VALUES`` is one of:

- a list of Python literals ``[1e-3, 3e-3]`` or ``range(...)`` of integers: a grid axis;
- a single literal ``0.9``: a fixed value, the same in every point;
- ``uniform(a, b)``, ``loguniform(a, b)``, ``randint(a, b)`` (both ends included) or
  ``choice([...])``: a random axis, sampled once per random draw (``--sweep-random N``).

The points are the grid's cartesian product, in the order written (the last name varies
fastest); with random axes, each of the ``N`` draws is crossed with the whole grid, so
``--sweep-random 8 "lr=loguniform(1e-4, 1e-1) seed=range(3)"`` is 8 settings x 3 seeds.
Every error names the problem and points at its column (SweepError).
"""

from __future__ import annotations

import ast
import itertools
import math
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trackrun.errors import TrackrunError

#: Without an explicit confirmation, a sweep may not have more points than this.
MAX_POINTS_UNCONFIRMED = 10_000
#: Names of the random distributions (random axes).
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
_OPENERS = {"[": "]", "(": ")", "{": "}"}


class SweepError(TrackrunError):
    """A sweep definition that cannot be used; ``column`` (1-based) points into ``text``."""

    code = "invalid_sweep"

    def __init__(self, message: str, text: str, column: int) -> None:
        self.reason = message
        self.text = text
        self.column = max(1, column)
        pointer = " " * (self.column - 1) + "^"
        super().__init__(f"{message} (column {self.column})\n  {text}\n  {pointer}")


@dataclass(frozen=True)
class Axis:
    """One swept name: ``kind`` is ``values`` (a grid axis or fixed value) or a distribution."""

    name: str
    kind: str
    column: int
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0

    @property
    def is_random(self) -> bool:
        return self.kind != "values"

    def sample(self, rng: random.Random) -> Any:
        """One draw of a random axis."""
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high)
        if self.kind == "loguniform":
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        if self.kind == "randint":
            return rng.randint(int(self.low), int(self.high))
        return self.values[rng.randrange(len(self.values))]


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep definition: its text and its axes in the order written."""

    text: str
    axes: tuple[Axis, ...]

    @property
    def names(self) -> list[str]:
        return [axis.name for axis in self.axes]

    @property
    def random_axes(self) -> list[Axis]:
        return [axis for axis in self.axes if axis.is_random]

    def grid_size(self) -> int:
        """Points of the grid part (1 when every axis is random or fixed)."""
        return math.prod(len(axis.values) for axis in self.axes if not axis.is_random)

    def count(self, samples: int | None) -> int:
        """How many points ``expand(samples)`` gives (computed without expanding)."""
        return self.grid_size() * (samples or 1 if self.random_axes else 1)

    def column_of(self, name: str) -> int:
        """The column where ``name`` is written (1 when it is not)."""
        return next((a.column for a in self.axes if a.name == name), 1)

    def check(self, samples: int | None, confirmed: bool = False) -> int:
        """Validate the sweep as it will be expanded; return the number of points.

        Raises SweepError for random axes without ``samples`` (or samples given without
        random axes), fewer than one sample, and more than MAX_POINTS_UNCONFIRMED points
        without ``confirmed``.
        """
        randoms = self.random_axes
        if samples is not None and samples < 1:
            raise SweepError(f"--sweep-random must be 1 or more, not {samples}", self.text, 1)
        if randoms and not samples:
            axis = randoms[0]
            raise SweepError(
                f"{axis.name}={axis.kind}(...) is random: add --sweep-random N to draw N "
                "settings, or list the values to sweep as a grid",
                self.text,
                axis.column,
            )
        if samples and not randoms:
            raise SweepError(
                "--sweep-random needs at least one random axis, e.g. lr=loguniform(1e-4, 1e-1)",
                self.text,
                1,
            )
        total = self.count(samples)
        if total > MAX_POINTS_UNCONFIRMED and not confirmed:
            raise SweepError(
                f"this sweep has {total:,} points (more than {MAX_POINTS_UNCONFIRMED:,}); "
                "add --yes to launch them all, or sweep fewer values",
                self.text,
                1,
            )
        return total

    def expand(self, samples: int | None = None, seed: int | None = None) -> list[dict[str, Any]]:
        """The points, each ``{name: value}`` in axis order; see the module docstring.

        The same ``seed`` gives the same points. Raises SweepError as ``check`` does
        (except for the size limit, which is the caller's decision).
        """
        self.check(samples, confirmed=True)
        grid = [axis for axis in self.axes if not axis.is_random]
        combos = list(itertools.product(*(axis.values for axis in grid)))
        rng = random.Random(seed)
        draws: Iterator[dict[str, Any]] = (
            ({axis.name: axis.sample(rng) for axis in self.random_axes} for _ in range(samples))
            if self.random_axes and samples
            else iter([{}])
        )
        points = []
        for draw in draws:
            for combo in combos:
                fixed = dict(zip((axis.name for axis in grid), combo, strict=True))
                points.append({name: {**fixed, **draw}[name] for name in self.names})
        return points


def new_seed() -> int:
    """A fresh random seed for a sweep that was given none (recorded, so it can be redone)."""
    return secrets.randbelow(2**31)


# -- parsing ----------------------------------------------------------------------------------
def parse_sweep(text: str) -> Sweep:
    """Parse a sweep definition such as ``lr=[1e-3, 3e-3] hidden=[64, 128] seed=range(3)``.

    Raises SweepError (with the 1-based column) for syntax errors, names that are not
    Python identifiers, a name given twice, empty lists or ranges, bad distribution
    arguments and values that are not literals.
    """
    if not text or not text.strip():
        raise SweepError("the sweep is empty; write e.g. lr=[1e-3, 1e-2] seed=range(3)", text, 1)
    axes: list[Axis] = []
    seen: set[str] = set()
    i, n = 0, len(text)
    while True:
        while i < n and (text[i].isspace() or text[i] in ",;"):
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] not in "=" and not text[i].isspace():
            i += 1
        name = text[start:i]
        if not name.isidentifier():
            what = f"{name!r} is not a name" if name else "expected a name"
            raise SweepError(f"{what}; write NAME=VALUES, e.g. lr=[1e-3, 1e-2]", text, start + 1)
        while i < n and text[i] == " ":
            i += 1
        if i >= n or text[i] != "=":
            raise SweepError(f"expected '=' after {name!r}", text, i + 1)
        i += 1
        while i < n and text[i] == " ":
            i += 1
        value_start = i
        i = _scan_value(text, i)
        if i == value_start:
            raise SweepError(f"expected values after '{name}='", text, i + 1)
        if name in seen:
            raise SweepError(f"{name!r} is swept twice", text, start + 1)
        seen.add(name)
        axes.append(_axis(text, name, start + 1, text[value_start:i], value_start))
    return Sweep(text, tuple(axes))


def _scan_value(text: str, i: int) -> int:
    """The end of the value starting at ``i``: whitespace or a comma outside brackets/quotes."""
    stack: list[tuple[str, int]] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                raise SweepError(f"unclosed quote {c}", text, i + 1)
            i = end + 1
            continue
        if c in _OPENERS:
            stack.append((_OPENERS[c], i))
        elif c in ")]}":
            if not stack or stack[-1][0] != c:
                raise SweepError(f"unexpected {c!r}", text, i + 1)
            stack.pop()
        elif not stack and (c.isspace() or c in ",;"):
            break
        i += 1
    if stack:
        closer, where = stack[-1]
        raise SweepError(f"unclosed {text[where]!r} (missing {closer!r})", text, where + 1)
    return i


def _axis(text: str, name: str, column: int, source: str, offset: int) -> Axis:
    def fail(message: str, node: ast.AST | None = None) -> SweepError:
        at = offset + (getattr(node, "col_offset", 0) if node is not None else 0)
        return SweepError(f"{name}: {message}", text, at + 1)

    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError as error:
        at = offset + max(0, (error.offset or 1) - 1)
        raise SweepError(f"{name}: cannot read {source!r} ({error.msg})", text, at + 1) from None
    if isinstance(node, (ast.List, ast.Tuple)):
        values = tuple(_literal(item, fail) for item in node.elts)
        if not values:
            raise fail("the list is empty, so the grid has no points")
        return Axis(name, "values", column, values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call_axis(name, column, node, fail)
    return Axis(name, "values", column, (_literal(node, fail),))


def _call_axis(name: str, column: int, node: ast.Call, fail: Any) -> Axis:
    func = node.func.id if isinstance(node.func, ast.Name) else ""
    if node.keywords:
        raise fail(f"{func}() takes positional arguments only", node.keywords[0].value)
    args = [_literal(arg, fail) for arg in node.args]
    if func == "range":
        if not 1 <= len(args) <= 3 or not all(_is_int(a) for a in args):
            raise fail("range() takes 1 to 3 integers, e.g. range(3) or range(1, 10, 2)", node)
        if len(args) == 3 and args[2] == 0:
            raise fail("range() step must not be zero", node.args[2])
        values = tuple(range(*args))
        if not values:
            raise fail(f"range({', '.join(map(str, args))}) is empty, so the grid has no points")
        return Axis(name, "values", column, values)
    if func == "choice":
        if len(args) != 1 or not isinstance(args[0], (list, tuple)) or not args[0]:
            raise fail("choice() takes one non-empty list, e.g. choice(['adam', 'sgd'])", node)
        return Axis(name, "choice", column, tuple(args[0]))
    if func in ("uniform", "loguniform", "randint"):
        if len(args) != 2 or not all(_is_number(a) for a in args):
            raise fail(f"{func}() takes two numbers, e.g. {func}(1, 10)", node)
        low, high = float(args[0]), float(args[1])
        if func == "randint" and not all(_is_int(a) for a in args):
            raise fail("randint() takes two integers (both included)", node)
        if low > high or (low == high and func != "randint"):
            raise fail(f"{func}({args[0]}, {args[1]}): the first bound must be the lower", node)
        if func == "loguniform" and low <= 0:
            raise fail("loguniform() bounds must be above 0", node)
        return Axis(name, func, column, (), low, high)
    known = ", ".join(["range", *DISTRIBUTIONS])
    raise fail(f"unknown function {func}(); use a list or one of {known}", node)


def _literal(node: ast.AST, fail: Any) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        raise fail(
            f"{ast.unparse(node)!r} is not a literal value (numbers, quoted strings, "
            "True/False/None, lists)",
            node,
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
