"""The filter and order-by language for runs: its grammar, parsed into the SQL of filter_sql.

The lexer (filter_lexer.py) cuts the text into tokens; the parser here reads them by the
grammar and hands each predicate or ordering to filter_sql.py, which writes the SQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

from trackrun.errors import FilterError
from trackrun.store import filter_sql as sql
from trackrun.store.filter_lexer import KEYWORDS, Token, describe, tokenize
from trackrun.store.filter_sql import BOOLEAN, COLUMNS, FIELD_HELP, NUMBER, Field, Literal, Sql

#: The ORDER BY body used when no order is given: newest first, never-started runs last.
DEFAULT_ORDER_BY = "r.started_at DESC NULLS LAST, r.run_id DESC"

_AGGREGATES = ("last", "min", "max", "count")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION_RE = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([smhdw])")
# A bare params/metrics key: letters and digits of any script, _ - / . (C1 controls excluded).
_KEY = re.compile(r"(?:[\w\-/.]|[^\x00-\x9f\s])+")
_MAX_DEPTH = 100


class _Parser:
    def __init__(self, text: str, now: float) -> None:
        self.text = text
        self.now = now
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, message: str, token: Token) -> NoReturn:
        raise FilterError(message, self.text, token.pos + 1)

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail(f"nested more than {_MAX_DEPTH} levels deep", token)

    # Grammar: or := and ("or" and)*; and := not ("and" not)*; not := "not" not | "(" or ")" | pred
    def parse_or(self) -> Sql:
        return self.parse_chain("or", self.parse_and)

    def parse_and(self) -> Sql:
        return self.parse_chain("and", self.parse_not)

    def parse_chain(self, word: str, operand: Callable[[], Sql]) -> Sql:
        parts = [operand()]
        while self.peek().is_keyword(word):
            self.take()
            parts.append(operand())
        return sql.join(parts, word.upper())

    def parse_not(self) -> Sql:
        token = self.peek()
        if token.is_keyword("not"):
            self.take()
            self.nest(token)
            negated = sql.negate(self.parse_not())
            self.depth -= 1
            return negated
        if token.kind == "(":
            self.take()
            self.nest(token)
            inner = self.parse_or()
            close = self.take()
            if close.kind == "end":
                self.fail("unclosed '('", token)
            if close.kind != ")":
                self.fail(f"expected ')' but found {describe(close)}", close)
            self.depth -= 1
            return inner
        return self.parse_predicate()

    def parse_predicate(self) -> Sql:
        token = self.take()
        if token.kind != "word" or token.is_keyword(*KEYWORDS):
            self.fail(f"expected a field but found {describe(token)}", token)
        field = self.parse_field(token)
        if field.kind == "tag":
            return sql.has_tag(field)
        op_token = self.peek()
        if op_token.kind == "op":
            op = self.take().raw
        elif op_token.is_keyword("in"):
            self.take()
            op = "in"
        elif op_token.is_keyword("not"):
            self.take()
            after = self.take()
            if not after.is_keyword("in"):
                self.fail(f"expected 'in' after 'not' but found {describe(after)}", after)
            op = "not in"
        elif field.kind == "column" and field.vtype == BOOLEAN:
            return sql.is_true(field)  # a bare boolean field means "is true"
        else:
            self.fail(
                f"expected an operator (= != < <= > >= ~ in) after {field.name!r} "
                f"but found {describe(op_token)}",
                op_token,
            )
        literals = self.parse_list() if op in ("in", "not in") else [self.parse_value()]
        return sql.compare(field, op, op_token, literals, self.now, self.fail)

    def parse_field(self, token: Token) -> Field:
        head, quoted = token.parts[0]
        lower = head.lower()
        prefix = next(
            (p for p in ("params.", "metrics.", "tag:", "tags:", "sweep:") if lower.startswith(p)),
            "",
        )
        if quoted or not prefix:
            if len(token.parts) == 1 and not quoted:
                # A sweep's runs carry the tags sweep:<name> and sweep:<id>.
                if lower in ("tag", "tags", "sweep"):
                    return Field("tags", head, key="sweep:" if lower == "sweep" else "")
                if lower in COLUMNS:
                    column, vtype = COLUMNS[lower]
                    return Field("column", head, column, vtype)
            self.fail(f"unknown field {token.raw!r}; valid fields: {FIELD_HELP}", token)
        kind = {"params.": "param", "metrics.": "metric"}.get(prefix, "tag")
        key, tail, agg = head[len(prefix) :], token.parts[1:], "last"
        if key:  # a bare key, e.g. params.lr, metrics.val_acc.max, tag:baseline
            if tail:
                self.fail(f"write the key in {token.raw!r} either bare or quoted", token)
            base, _, suffix = key.rpartition(".")
            if kind == "metric" and base and suffix.lower() in _AGGREGATES:
                key, agg = base, suffix.lower()
            if kind != "tag" and not _KEY.fullmatch(key):
                self.fail(
                    f"{key!r} is not a bare key (letters, digits, _ - / .); "
                    f'quote it: {prefix}"{key}"',
                    token,
                )
        else:  # a quoted key, e.g. params."weird key", metrics."val acc".max, tag:"a b"
            if not tail or not tail[0][1] or not tail[0][0]:
                self.fail(f"expected a name right after {head!r}", token)
            key, tail = tail[0][0], tail[1:]
            if tail:  # only metrics."key".AGG
                dot, agg = tail[0][0][:1], tail[0][0][1:].lower()
                if kind != "metric" or len(tail) > 1 or dot != "." or agg not in _AGGREGATES:
                    self.fail(f"unexpected text after the key in {token.raw!r}", token)
        if kind == "metric":
            return Field(kind, token.raw, sql.metric_column(agg), NUMBER, key)
        return Field(kind, token.raw, key="sweep:" + key if prefix == "sweep:" else key)

    def parse_value(self) -> Literal:
        token = self.take()
        if token.kind != "word" or token.is_keyword(*KEYWORDS):
            self.fail(f"expected a value but found {describe(token)}", token)
        if len(token.parts) != 1:
            self.fail(f"{token.raw!r} is not one value; quote the whole value", token)
        text, quoted = token.parts[0]
        lower = text.lower()
        if quoted:
            return Literal("str", text, text, token)
        if lower in ("true", "false"):
            return Literal("bool", lower == "true", text, token)
        if lower == "null":
            return Literal("null", None, text, token)
        if _NUMBER_RE.fullmatch(text):
            return Literal("num", float(text), text, token)
        if match := _DURATION_RE.fullmatch(text):
            return Literal("dur", float(match.group(1)) * _UNITS[match.group(2)], text, token)
        return Literal("str", text, text, token)

    def parse_list(self) -> list[Literal]:
        opener = self.take()
        if opener.kind != "(":
            self.fail(f"expected '(' after 'in' but found {describe(opener)}", opener)
        items = [self.parse_value()]
        while True:
            token = self.take()
            if token.kind == ")":
                return items
            if token.kind == "end":
                self.fail("unclosed '('", opener)
            if token.kind != ",":
                self.fail(f"expected ',' or ')' but found {describe(token)}", token)
            items.append(self.parse_value())


def compile_filter(text: str | None, now: float | None = None) -> tuple[str, list[object]]:
    """Compile a filter such as ``status = finished and params.lr < 1e-3 and tag:baseline``.

    Returns a SQL boolean expression over the runs table aliased ``r`` (subqueries read
    ``params``, ``tags`` and ``metric_summary``) and its parameters, one per ``?`` in order;
    no text from the filter other than checked field and operator tokens enters the SQL.
    None, empty or blank text gives ``("TRUE", [])``. ``now`` (epoch seconds, default
    ``time.time()``) anchors relative times: ``started > -7d`` means since now minus 7 days
    (a signed duration is added to ``now``). Absolute dates such as ``2026-11-01``,
    ``"2026-11-01 10:30"`` or ``2026-11-01T10:30:00`` without an offset are read as UTC.
    ``!=``, ``not in`` and ``not`` also match runs where the value is missing.
    Raises FilterError (with the 1-based column) for syntax errors, unknown fields and
    values of the wrong type.
    """
    if text is None or not text.strip():
        return "TRUE", []
    parser = _Parser(text, time.time() if now is None else now)
    where, params = parser.parse_or()
    rest = parser.peek()
    if rest.kind != "end":
        parser.fail(f"unexpected {describe(rest)}; join conditions with and/or", rest)
    return where, params


def compile_order_by(text: str | None) -> str:
    """Compile an order such as ``metrics.val_acc desc, started`` or ``-started``.

    Returns the ORDER BY body (without the words ORDER BY) over the runs table aliased ``r``;
    each field takes ``asc`` (the default) or ``desc``, or a leading ``-`` for desc, and sorts
    missing values last. ``r.run_id DESC`` is always appended as a tiebreaker. None, empty or
    blank text gives DEFAULT_ORDER_BY. Any filter field except tags works; params sort
    numbers numerically, then strings. Keys are embedded as SQL string literals (quotes
    doubled) since ORDER BY takes no parameters. Raises FilterError for anything else.
    """
    if text is None or not text.strip():
        return DEFAULT_ORDER_BY
    parser = _Parser(text, 0.0)
    terms: list[str] = []
    while True:
        token = parser.take()
        if token.kind != "word":
            parser.fail(f"expected a field to order by but found {describe(token)}", token)
        desc = False
        head, quoted = token.parts[0]
        if not quoted and head.startswith("-"):
            if head == "-" and len(token.parts) == 1:
                parser.fail("expected a field right after '-'", token)
            desc = True
            parts = ((head[1:], False), *token.parts[1:])
            token = replace(token, pos=token.pos + 1, raw=token.raw[1:], parts=parts)
        field = parser.parse_field(token)
        if parser.peek().is_keyword("asc", "desc"):
            word = parser.take()
            if desc:
                parser.fail("use a leading '-' or asc/desc, not both", word)
            desc = word.raw.lower() == "desc"
        terms.extend(sql.order_terms(field, token, desc, parser.fail))
        separator = parser.take()
        if separator.kind == "end":
            return ", ".join([*terms, "r.run_id DESC"])
        if separator.kind != ",":
            parser.fail(f"expected ',' or the end but found {describe(separator)}", separator)
