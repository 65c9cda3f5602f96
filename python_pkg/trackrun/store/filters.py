"""The filter and order-by language for runs: the parser, emitting parameterized DuckDB SQL."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NoReturn

from trackrun.errors import FilterError
from trackrun.store.filter_lexer import KEYWORDS, Token, describe, parse_date, tokenize
from trackrun.store.schema import RUN_FIELDS

#: The ORDER BY body used when no order is given: newest first, never-started runs last.
DEFAULT_ORDER_BY = "r.started_at DESC NULLS LAST, r.run_id DESC"

_STR, _NUM, _BOOL, _TIME, _DUR = "text", "number", "boolean", "time", "duration"


def _column_sql(column: str) -> str:
    return 'r."user"' if column == "user" else f"r.{column}"  # user is an SQL keyword


#: Field name (lower case) -> (SQL over the runs table aliased r, value type); the columns
#: are the runs table's (schema.RUN_FIELDS: a name missing there fails at import).
_COLUMNS: dict[str, tuple[str, str]] = {
    name: (_column_sql(RUN_FIELDS[RUN_FIELDS.index(column)]), vtype)
    for names, column, vtype in (
        ("id run_id", "run_id", _STR),
        ("name", "name", _STR),
        ("status", "status", _STR),
        ("notebook", "notebook", _STR),
        ("note", "note", _STR),
        ("host", "host", _STR),
        ("user", "user", _STR),
        ("commit git_commit", "git_commit", _STR),
        ("branch git_branch", "git_branch", _STR),
        ("dirty git_dirty", "git_dirty", _BOOL),
        ("detached", "detached", _BOOL),
        ("attempts", "attempts", _NUM),
        ("error", "error", _STR),
        ("started started_at", "started_at", _TIME),
        ("ended ended_at", "ended_at", _TIME),
        ("created created_at", "created_at", _TIME),
        ("duration", "duration", _DUR),
    )
    for name in names.split()
}
_FIELD_HELP = (
    "id, name, status, notebook, note, host, user, commit, branch, dirty, detached, attempts, "
    "error, started, ended, created, duration, tag, tag:NAME, sweep, sweep:NAME, params.KEY, "
    "metrics.KEY[.last|.min|.max|.count]"
)
_EXPECTED = {
    _NUM: "a number",
    _DUR: "a number of seconds or a duration like 5m",
    _BOOL: "true or false",
    _TIME: "a date like 2026-11-01 (UTC), a relative time like -7d, or epoch seconds",
}
_AGGREGATES = ("last", "min", "max", "count")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([smhdw])")
# A bare params/metrics key: letters and digits of any script, _ - / . (C1 controls excluded).
_KEY = re.compile(r"(?:[\w\-/.]|[^\x00-\x9f\s])+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_DEPTH = 100

_Sql = tuple[str, list[object]]


@dataclass(frozen=True)
class _Literal:
    kind: str  # "num", "dur", "str", "bool", "null"
    value: float | str | bool | None
    text: str  # as written, without quotes
    token: Token


@dataclass(frozen=True)
class _Field:
    kind: str  # "column", "param", "metric", "tags" (tag = x) or "tag" (tag:NAME)
    name: str  # as written, for messages
    sql: str = ""  # the runs column, or the metric_summary column
    vtype: str = _STR
    key: str = ""  # the params/metrics key, or NAME of tag:NAME


def _join(parts: list[_Sql], word: str) -> _Sql:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {word} ".join(s for s, _ in parts) + ")", [v for _, ps in parts for v in ps]


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
    def parse_or(self) -> _Sql:
        return self.parse_chain("or", self.parse_and)

    def parse_and(self) -> _Sql:
        return self.parse_chain("and", self.parse_not)

    def parse_chain(self, word: str, operand: Callable[[], _Sql]) -> _Sql:
        parts = [operand()]
        while self.peek().is_keyword(word):
            self.take()
            parts.append(operand())
        return _join(parts, word.upper())

    def parse_not(self) -> _Sql:
        token = self.peek()
        if token.is_keyword("not"):
            self.take()
            self.nest(token)
            sql, params = self.parse_not()
            self.depth -= 1
            # Missing values make comparisons NULL; COALESCE keeps `not` a true complement.
            return f"NOT COALESCE({sql}, FALSE)", params
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

    def parse_predicate(self) -> _Sql:
        token = self.take()
        if token.kind != "word" or token.is_keyword(*KEYWORDS):
            self.fail(f"expected a field but found {describe(token)}", token)
        field = self.parse_field(token)
        if field.kind == "tag":
            return self.exists(field, "t.tag = ?", [field.key])
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
        elif field.kind == "column" and field.vtype == _BOOL:
            return field.sql, []  # a bare boolean field means "is true"
        else:
            self.fail(
                f"expected an operator (= != < <= > >= ~ in) after {field.name!r} "
                f"but found {describe(op_token)}",
                op_token,
            )
        literals = self.parse_list() if op in ("in", "not in") else [self.parse_value()]
        return self.compare(field, op, op_token, literals)

    def parse_field(self, token: Token) -> _Field:
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
                    return _Field("tags", head, key="sweep:" if lower == "sweep" else "")
                if lower in _COLUMNS:
                    sql, vtype = _COLUMNS[lower]
                    return _Field("column", head, sql, vtype)
            self.fail(f"unknown field {token.raw!r}; valid fields: {_FIELD_HELP}", token)
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
            return _Field(kind, token.raw, f'm."{agg}"', _NUM, key)
        return _Field(kind, token.raw, key="sweep:" + key if prefix == "sweep:" else key)

    def parse_value(self) -> _Literal:
        token = self.take()
        if token.kind != "word" or token.is_keyword(*KEYWORDS):
            self.fail(f"expected a value but found {describe(token)}", token)
        if len(token.parts) != 1:
            self.fail(f"{token.raw!r} is not one value; quote the whole value", token)
        text, quoted = token.parts[0]
        lower = text.lower()
        if quoted:
            return _Literal("str", text, text, token)
        if lower in ("true", "false"):
            return _Literal("bool", lower == "true", text, token)
        if lower == "null":
            return _Literal("null", None, text, token)
        if _NUMBER.fullmatch(text):
            return _Literal("num", float(text), text, token)
        if match := _DURATION.fullmatch(text):
            return _Literal("dur", float(match.group(1)) * _UNITS[match.group(2)], text, token)
        return _Literal("str", text, text, token)

    def parse_list(self) -> list[_Literal]:
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

    def compare(self, field: _Field, op: str, op_token: Token, literals: list[_Literal]) -> _Sql:
        negate = op in ("!=", "not in")
        base = {"!=": "=", "not in": "in"}.get(op, op)
        nulls = [lit for lit in literals if lit.kind == "null"]
        if nulls:
            if base != "=":
                self.fail("null can only be compared with = or !=", nulls[0].token)
            return self.null_test(field, negate)
        if base == "~" and field.vtype != _STR:  # params and tags are text too
            self.fail(f"'~' needs a text field; {field.name!r} is a {field.vtype}", op_token)
        if base in ("<", "<=", ">", ">=") and (field.kind == "tags" or field.vtype == _BOOL):
            self.fail(f"{field.name!r} can only be compared with = != in", op_token)
        pairs = [self.coerce(field, base, lit) for lit in literals]
        values = [value for _, value in pairs]
        if base == "in":
            cond = "(" + " OR ".join(f"{column} = ?" for column, _ in pairs) + ")"
        elif base == "~":
            cond = f"strpos(lower({pairs[0][0]}), lower(?)) > 0"
        else:
            cond = f"{pairs[0][0]} {base} ?"
        if field.kind == "column":
            return (f"NOT COALESCE({cond}, FALSE)" if negate else cond), values
        sql, params = self.exists(field, cond, values)
        return (f"NOT {sql}" if negate else sql), params

    def coerce(self, field: _Field, op: str, lit: _Literal) -> tuple[str, object]:
        """The column to compare and the parameter value for one literal."""
        if field.kind == "tags":
            return "t.tag", field.key + lit.text
        if field.kind == "param":
            if op == "~":
                return "p.value_str", lit.text
            if lit.kind == "num":
                return "p.value_num", lit.value
            if lit.kind == "bool":
                if op not in ("=", "in"):
                    self.fail("true/false can only be compared with = != in", lit.token)
                return "p.value_str", "true" if lit.value else "false"  # how booleans are stored
            return "p.value_str", lit.text
        if field.vtype == _STR:
            return field.sql, lit.text
        if field.vtype == _BOOL and lit.kind == "bool":
            return field.sql, lit.value
        if field.vtype in (_NUM, _DUR) and lit.kind in ("num", "dur"):
            return field.sql, lit.value
        if field.vtype == _TIME:
            if lit.kind == "num":
                return field.sql, lit.value
            if lit.kind == "dur":
                assert isinstance(lit.value, float)
                return field.sql, self.now + lit.value
            if lit.kind == "str" and (moment := parse_date(lit.text)) is not None:
                return field.sql, moment
        self.fail(
            f"{field.name!r} is a {field.vtype}; {lit.text!r} is not {_EXPECTED[field.vtype]}",
            lit.token,
        )

    def null_test(self, field: _Field, negate: bool) -> _Sql:
        if field.kind == "column":
            return f"{field.sql} IS {'NOT ' if negate else ''}NULL", []
        present = {
            "param": "p.value_json IS DISTINCT FROM 'null'",
            "metric": f"{field.sql} IS NOT NULL",
        }.get(field.kind, "TRUE")
        sql, params = self.exists(field, present, [])
        return (sql if negate else f"NOT {sql}"), params

    def exists(self, field: _Field, cond: str, values: list[object]) -> _Sql:
        if field.kind == "param":
            rows, params = "params p WHERE p.run_id = r.run_id AND p.key = ?", [field.key, *values]
        elif field.kind == "metric":
            rows = "metric_summary m WHERE m.run_id = r.run_id AND m.key = ?"
            params = [field.key, *values]
        else:
            rows, params = "tags t WHERE t.run_id = r.run_id", list(values)
        return f"EXISTS (SELECT 1 FROM {rows} AND {cond})", params

    def order_terms(self, field: _Field, token: Token, desc: bool) -> list[str]:
        direction = "DESC" if desc else "ASC"
        if field.kind == "column":
            return [f"{field.sql} {direction} NULLS LAST"]
        if field.kind in ("tags", "tag"):
            self.fail("runs cannot be ordered by tags", token)
        if _CONTROL.search(field.key):
            self.fail(f"key {field.key!r} has control characters", token)
        key = "'" + field.key.replace("'", "''") + "'"  # ORDER BY takes no parameters
        # max() only keeps a duplicate row from failing the query; there is one row per key.
        if field.kind == "metric":
            rows = f"FROM metric_summary m WHERE m.run_id = r.run_id AND m.key = {key}"
            return [f"(SELECT max({field.sql}) {rows}) {direction} NULLS LAST"]
        rows = f"FROM params p WHERE p.run_id = r.run_id AND p.key = {key}"
        # Numbers sort as numbers first; string values follow, sorted as text.
        return [
            f"(SELECT max(p.{c}) {rows}) {direction} NULLS LAST" for c in ("value_num", "value_str")
        ]


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
    sql, params = parser.parse_or()
    rest = parser.peek()
    if rest.kind != "end":
        parser.fail(f"unexpected {describe(rest)}; join conditions with and/or", rest)
    return sql, params


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
        terms.extend(parser.order_terms(field, token, desc))
        separator = parser.take()
        if separator.kind == "end":
            return ", ".join([*terms, "r.run_id DESC"])
        if separator.kind != ",":
            parser.fail(f"expected ',' or the end but found {describe(separator)}", separator)
