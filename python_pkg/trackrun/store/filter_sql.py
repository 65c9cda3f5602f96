"""The SQL of the filter and order-by language: its fields, and the parameterized DuckDB SQL
that each parsed predicate or ordering becomes.

filters.py parses; this module writes SQL over the runs table aliased ``r`` (subqueries read
``params``, ``tags`` and ``metric_summary``). Literal values always travel as parameters;
only checked field names, operators and (in ORDER BY, which takes no parameters) keys
quoted as SQL strings enter the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from trackrun.store.filter_lexer import Token, parse_date
from trackrun.store.schema import RUN_FIELDS

#: The value types of fields.
TEXT, NUMBER, BOOLEAN, TIME, DURATION = "text", "number", "boolean", "time", "duration"
#: (SQL text, its parameters, one per ``?`` in order).
Sql = tuple[str, list[object]]
#: Raises the FilterError of a message about a token (the parser's ``fail``).
Fail = Callable[[str, Token], NoReturn]


def _column_sql(column: str) -> str:
    return 'r."user"' if column == "user" else f"r.{column}"  # user is an SQL keyword


#: Field name (lower case) -> (SQL over the runs table aliased r, value type); the columns
#: are the runs table's (schema.RUN_FIELDS: a name missing there fails at import).
COLUMNS: dict[str, tuple[str, str]] = {
    name: (_column_sql(RUN_FIELDS[RUN_FIELDS.index(column)]), vtype)
    for names, column, vtype in (
        ("id run_id", "run_id", TEXT),
        ("name", "name", TEXT),
        ("status", "status", TEXT),
        ("notebook", "notebook", TEXT),
        ("note", "note", TEXT),
        ("host", "host", TEXT),
        ("user", "user", TEXT),
        ("commit git_commit", "git_commit", TEXT),
        ("branch git_branch", "git_branch", TEXT),
        ("dirty git_dirty", "git_dirty", BOOLEAN),
        ("detached", "detached", BOOLEAN),
        ("attempts", "attempts", NUMBER),
        ("error", "error", TEXT),
        ("started started_at", "started_at", TIME),
        ("ended ended_at", "ended_at", TIME),
        ("created created_at", "created_at", TIME),
        ("duration", "duration", DURATION),
    )
    for name in names.split()
}
FIELD_HELP = (
    "id, name, status, notebook, note, host, user, commit, branch, dirty, detached, attempts, "
    "error, started, ended, created, duration, tag, tag:NAME, sweep, sweep:NAME, params.KEY, "
    "metrics.KEY[.last|.min|.max|.count]"
)
_EXPECTED = {
    NUMBER: "a number",
    DURATION: "a number of seconds or a duration like 5m",
    BOOLEAN: "true or false",
    TIME: "a date like 2026-11-01 (UTC), a relative time like -7d, or epoch seconds",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Literal:
    kind: str  # "num", "dur", "str", "bool", "null"
    value: float | str | bool | None
    text: str  # as written, without quotes
    token: Token


@dataclass(frozen=True)
class Field:
    kind: str  # "column", "param", "metric", "tags" (tag = x) or "tag" (tag:NAME)
    name: str  # as written, for messages
    sql: str = ""  # the runs column, or the metric_summary column
    vtype: str = TEXT
    key: str = ""  # the params/metrics key, or NAME of tag:NAME


def metric_column(aggregate: str) -> str:
    """The metric_summary column of ``aggregate`` (last, min, max or count)."""
    return f'm."{aggregate}"'


# -- predicates -----------------------------------------------------------------------------
def join(parts: list[Sql], word: str) -> Sql:
    """``parts`` joined with AND or OR."""
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {word} ".join(s for s, _ in parts) + ")", [v for _, ps in parts for v in ps]


def negate(condition: Sql) -> Sql:
    """``not``: missing values make comparisons NULL; COALESCE keeps it a true complement."""
    sql, params = condition
    return f"NOT COALESCE({sql}, FALSE)", params


def is_true(field: Field) -> Sql:
    """A bare boolean field."""
    return field.sql, []


def has_tag(field: Field) -> Sql:
    """``tag:NAME``."""
    return exists(field, "t.tag = ?", [field.key])


def compare(
    field: Field, op: str, op_token: Token, literals: list[Literal], now: float, fail: Fail
) -> Sql:
    """``field OP literal`` (or ``in``/``not in`` a list of them). ``now`` anchors relative
    times; ``fail`` refuses an operator or a value the field's type does not take."""
    negated = op in ("!=", "not in")
    base = {"!=": "=", "not in": "in"}.get(op, op)
    nulls = [lit for lit in literals if lit.kind == "null"]
    if nulls:
        if base != "=":
            fail("null can only be compared with = or !=", nulls[0].token)
        return _null_test(field, negated)
    if base == "~" and field.vtype != TEXT:  # params and tags are text too
        fail(f"'~' needs a text field; {field.name!r} is a {field.vtype}", op_token)
    if base in ("<", "<=", ">", ">=") and (field.kind == "tags" or field.vtype == BOOLEAN):
        fail(f"{field.name!r} can only be compared with = != in", op_token)
    pairs = [_coerce(field, base, lit, now, fail) for lit in literals]
    values = [value for _, value in pairs]
    if base == "in":
        cond = "(" + " OR ".join(f"{column} = ?" for column, _ in pairs) + ")"
    elif base == "~":
        cond = f"strpos(lower({pairs[0][0]}), lower(?)) > 0"
    else:
        cond = f"{pairs[0][0]} {base} ?"
    if field.kind == "column":
        return (f"NOT COALESCE({cond}, FALSE)" if negated else cond), values
    sql, params = exists(field, cond, values)
    return (f"NOT {sql}" if negated else sql), params


def _coerce(field: Field, op: str, lit: Literal, now: float, fail: Fail) -> tuple[str, object]:
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
                fail("true/false can only be compared with = != in", lit.token)
            return "p.value_str", "true" if lit.value else "false"  # how booleans are stored
        return "p.value_str", lit.text
    if field.vtype == TEXT:
        return field.sql, lit.text
    if field.vtype == BOOLEAN and lit.kind == "bool":
        return field.sql, lit.value
    if field.vtype in (NUMBER, DURATION) and lit.kind in ("num", "dur"):
        return field.sql, lit.value
    if field.vtype == TIME:
        if lit.kind == "num":
            return field.sql, lit.value
        if lit.kind == "dur":
            assert isinstance(lit.value, float)
            return field.sql, now + lit.value
        if lit.kind == "str" and (moment := parse_date(lit.text)) is not None:
            return field.sql, moment
    fail(
        f"{field.name!r} is a {field.vtype}; {lit.text!r} is not {_EXPECTED[field.vtype]}",
        lit.token,
    )


def _null_test(field: Field, negated: bool) -> Sql:
    if field.kind == "column":
        return f"{field.sql} IS {'NOT ' if negated else ''}NULL", []
    present = {
        "param": "p.value_json IS DISTINCT FROM 'null'",
        "metric": f"{field.sql} IS NOT NULL",
    }.get(field.kind, "TRUE")
    sql, params = exists(field, present, [])
    return (sql if negated else f"NOT {sql}"), params


def exists(field: Field, cond: str, values: list[object]) -> Sql:
    """EXISTS of a row of the field's table (params, metric_summary or tags) meeting ``cond``."""
    if field.kind == "param":
        rows, params = "params p WHERE p.run_id = r.run_id AND p.key = ?", [field.key, *values]
    elif field.kind == "metric":
        rows = "metric_summary m WHERE m.run_id = r.run_id AND m.key = ?"
        params = [field.key, *values]
    else:
        rows, params = "tags t WHERE t.run_id = r.run_id", list(values)
    return f"EXISTS (SELECT 1 FROM {rows} AND {cond})", params


# -- orderings ------------------------------------------------------------------------------
def order_terms(field: Field, token: Token, desc: bool, fail: Fail) -> list[str]:
    """The ORDER BY terms of one field, missing values last."""
    direction = "DESC" if desc else "ASC"
    if field.kind == "column":
        return [f"{field.sql} {direction} NULLS LAST"]
    if field.kind in ("tags", "tag"):
        fail("runs cannot be ordered by tags", token)
    if _CONTROL.search(field.key):
        fail(f"key {field.key!r} has control characters", token)
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
