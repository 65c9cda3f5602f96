"""Tests of the filter and order-by language against a real DuckDB index."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import duckdb
import pytest

from trackrun.errors import FilterError
from trackrun.store.filters import DEFAULT_ORDER_BY, compile_filter, compile_order_by
from trackrun.store.schema import SCHEMA_SQL

DAY = 86400.0
NOW = datetime(2026, 11, 15, tzinfo=timezone.utc).timestamp()
LONG_KEY = "layer/" + "x" * 500 + "/grad_norm"
UNICODE_KEY = "精度/top-1"

# run_id, name, status, notebook, note, host, user, commit, branch, dirty, detached,
# created, started, ended, duration, attempts, error
RUNS: list[tuple[Any, ...]] = [
    ("r1", "resnet-50", "finished", "nb/train.ipynb", "100% done", "gpu1", "alice", "abc123",
     "main", False, False, NOW - DAY - 60, NOW - DAY, NOW - DAY + 300, 300.0, 1, None),
    ("r2", "ResNet-18", "finished", "nb/train.ipynb", "50_50 split", "gpu2", "bob", "def456",
     "dev", True, True, NOW - 3 * DAY, NOW - 3 * DAY, NOW - 3 * DAY + 3600, 3600.0, 2, None),
    ("r3", "vit-base", "failed", "nb/vit.ipynb", "a%b", "gpu1", "alice", "abc123",
     "main", False, False, NOW - 10 * DAY, NOW - 10 * DAY, NOW - 10 * DAY + 30, 30.0, 3, "OOM"),
    ("r4", "vit-large", "running", "nb/vit.ipynb", None, "gpu2", "carol", None,
     None, None, True, NOW - 7200, NOW - 7200, None, None, 1, None),
    ("r5", "mlp", "finished", "nb/mlp.ipynb", "plain", "gpu1", "bob", "0a0a0a",
     "main", False, False, NOW - 30 * DAY, NOW - 30 * DAY, NOW - 28 * DAY, 7200.0, 1, None),
    ("r6", "baseline", "queued", "nb/mlp.ipynb", 'it\'s "quoted" \\ path', "gpu1", "bob", None,
     None, None, False, NOW - 40 * DAY, None, None, None, 0, None),
]  # fmt: skip

PARAMS: dict[str, dict[str, object]] = {
    "lr": {"r1": 0.001, "r2": 1e-05, "r3": 0.01, "r4": 0.001, "r5": "auto"},
    "batch": {"r1": 32, "r2": 128, "r3": 64},
    "optimizer": {"r1": "adam", "r2": "sgd", "r3": "adam", "r4": "AdamW"},
    "use_amp": {"r1": True, "r2": False, "r3": True},
    "seed": {"r1": 7, "r4": None},
    "weird key": {"r1": "x y"},
    "it's": {"r2": 1},
}
TAGS = {"r1": ["baseline", "resnet"], "r2": ["resnet", "with space"], "r3": ["vit"],
        "r5": ["baseline", "50%"]}  # fmt: skip
# key -> run -> (last, min, max, count)
METRICS: dict[str, dict[str, tuple[float, float, float, int]]] = {
    "val_acc": {
        "r1": (0.91, 0.5, 0.93, 10),
        "r2": (0.85, 0.4, 0.97, 10),
        "r3": (0.95, 0.6, 0.96, 5),
        "r4": (0.7, 0.7, 0.7, 1),
    },
    UNICODE_KEY: {"r3": (0.8, 0.1, 0.8, 3), "r5": (0.3, 0.3, 0.3, 1)},
    LONG_KEY: {"r5": (2.5, 1.0, 3.0, 4), "r2": (1.0, 1.0, 1.0, 1)},
    "val acc": {"r2": (0.5, 0.5, 0.99, 2)},
}


def _param_row(run_id: str, key: str, value: object) -> tuple[object, ...]:
    num: float | None
    text: object
    if isinstance(value, bool):
        num, text = None, "true" if value else "false"
    elif isinstance(value, (int, float)):
        num, text = float(value), str(value)
    else:
        num, text = None, value
    return run_id, key, json.dumps(value), num, text


_RUN_COLUMNS = (
    'run_id, name, status, notebook, note, host, "user", git_commit, git_branch, git_dirty, '
    "detached, created_at, started_at, ended_at, duration, attempts, error"
)


def _make_index() -> Any:
    connection = duckdb.connect(":memory:")
    connection.execute(SCHEMA_SQL)
    marks = ", ".join("?" * len(RUNS[0]))
    connection.executemany(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({marks})", RUNS)
    rows = [_param_row(r, k, v) for k, by_run in PARAMS.items() for r, v in by_run.items()]
    connection.executemany("INSERT INTO params VALUES (?, ?, ?, ?, ?)", rows)
    tags = [(r, t) for r, names in TAGS.items() for t in names]
    connection.executemany("INSERT INTO tags VALUES (?, ?)", tags)
    summary = [(r, k, *s, s[3]) for k, by_run in METRICS.items() for r, s in by_run.items()]
    connection.executemany("INSERT INTO metric_summary VALUES (?, ?, ?, ?, ?, ?, ?)", summary)
    return connection


@pytest.fixture(scope="module")
def index() -> Any:
    """A shared read-only index."""
    connection = _make_index()
    yield connection
    connection.close()


@pytest.fixture
def con() -> Any:
    """A fresh index for tests that try to damage it."""
    connection = _make_index()
    yield connection
    connection.close()


def select(con: Any, text: str | None, now: float = NOW) -> list[str]:
    sql, params = compile_filter(text, now=now)
    query = f"SELECT r.run_id FROM runs r WHERE {sql} ORDER BY r.run_id"
    return [row[0] for row in con.execute(query, params).fetchall()]


def ordered(con: Any, text: str | None) -> list[str]:
    query = f"SELECT r.run_id FROM runs r ORDER BY {compile_order_by(text)}"
    return [row[0] for row in con.execute(query).fetchall()]


CASES = [
    # columns and every operator
    ("status = finished", "r1 r2 r5"),
    ("status == finished", "r1 r2 r5"),
    ("status != finished", "r3 r4 r6"),
    ("attempts < 2", "r1 r4 r5 r6"),
    ("attempts <= 2", "r1 r2 r4 r5 r6"),
    ("attempts > 1", "r2 r3"),
    ("attempts >= 3", "r3"),
    ("name ~ resnet", "r1 r2"),
    ("name ~ 'NET-5'", "r1"),
    ('note ~ "%"', "r1 r3"),
    ("note ~ _", "r2"),
    ("status in (failed, running)", "r3 r4"),
    ("status IN (failed)", "r3"),
    ("status not in (finished, queued)", "r3 r4"),
    ("user = alice", "r1 r3"),
    ("commit = abc123", "r1 r3"),
    ("git_commit != abc123", "r2 r4 r5 r6"),
    ("branch = main and git_branch = main", "r1 r3 r5"),
    ("dirty = true", "r2"),
    ("dirty", "r2"),
    ("not dirty", "r1 r3 r4 r5 r6"),
    ("git_dirty = false", "r1 r3 r5"),
    ("git_dirty != true", "r1 r3 r4 r5 r6"),
    ("detached = true", "r2 r4"),
    ("id = r3 or run_id in (r1, r6)", "r1 r3 r6"),
    ("host = gpu1 and notebook = 'nb/vit.ipynb'", "r3"),
    ("error ~ oom", "r3"),
    ("STATUS = finished AND Name ~ MLP", "r5"),
    ('name = "resnet-50"', "r1"),
    ("note = 'it\\'s \"quoted\" \\\\ path'", "r6"),
    ('note = "it\'s \\"quoted\\" \\\\ path"', "r6"),
    ("note = null", "r4"),
    ("note != null", "r1 r2 r3 r5 r6"),
    # precedence: not > and > or
    ("status = finished or status = failed and attempts > 2", "r1 r2 r3 r5"),
    ("(status = finished or status = failed) and attempts > 1", "r2 r3"),
    ("not status = finished and attempts >= 1", "r3 r4"),
    ("not (status = finished or attempts = 0)", "r3 r4"),
    ("not not status = failed", "r3"),
    ("NOT (attempts > 1) OR (name ~ vit AND (host = gpu1))", "r1 r3 r4 r5 r6"),
    ("tag:baseline and not tag:resnet", "r5"),
    # params: numbers compare as numbers (as strings, '1e-05' > '0.001' and '32' > '100')
    ("params.lr < 1e-3", "r2"),
    ("params.lr <= 0.001", "r1 r2 r4"),
    ("params.lr = 0.001", "r1 r4"),
    ("params.lr > .001", "r3"),
    ("params.batch > 100", "r2"),
    ("params.batch >= 64", "r2 r3"),
    ("params.batch in (32, 128)", "r1 r2"),
    ("params.lr = auto", "r5"),
    ("params.lr in (auto, 0.01)", "r3 r5"),
    ("params.optimizer = adam", "r1 r3"),
    ("params.optimizer ~ ADAM", "r1 r3 r4"),
    ("params.optimizer != adam", "r2 r4 r5 r6"),
    ("params.optimizer in (sgd, 'AdamW')", "r2 r4"),
    ("params.optimizer not in (sgd, AdamW)", "r1 r3 r5 r6"),
    ("params.use_amp = true", "r1 r3"),
    ("params.use_amp = FALSE", "r2"),
    ("params.seed = null", "r2 r3 r4 r5 r6"),
    ("params.seed != null", "r1"),
    ("params.seed = -7 or params.seed = 7", "r1"),
    ("params.\"weird key\" = 'x y'", "r1"),
    ('params."it\'s" = 1', "r2"),
    ("params.missing = 1", ""),
    # tags
    ("tag:baseline", "r1 r5"),
    ('tag:"with space"', "r2"),
    ("tags = resnet", "r1 r2"),
    ("tag != resnet", "r3 r4 r5 r6"),
    ("tag ~ RES", "r1 r2"),
    ("tag ~ '%'", "r5"),
    ("tag in (vit, baseline)", "r1 r3 r5"),
    ("tag not in (vit, baseline)", "r2 r4 r6"),
    ("tag = null", "r4 r6"),
    ("tag != null", "r1 r2 r3 r5"),
    # metrics
    ("metrics.val_acc > 0.9", "r1 r3"),
    ("metrics.val_acc.last > 0.9", "r1 r3"),
    ("metrics.val_acc.max > 0.965", "r2"),
    ("metrics.val_acc.MAX > 0.965", "r2"),
    ("metrics.val_acc.min < 0.45", "r2"),
    ("metrics.val_acc.count >= 10", "r1 r2"),
    ("metrics.val_acc in (0.7, 0.85)", "r2 r4"),
    ("metrics.val_acc = null", "r5 r6"),
    ("metrics.val_acc != null", "r1 r2 r3 r4"),
    ("not metrics.val_acc > 0.9", "r2 r4 r5 r6"),
    (f"metrics.{UNICODE_KEY} > 0.5", "r3"),
    (f"metrics.{UNICODE_KEY}.min < 0.2", "r3"),
    (f"metrics.{LONG_KEY} > 2", "r5"),
    (f'metrics."{LONG_KEY}".last < 2', "r2"),
    ('metrics."val acc".max > 0.98', "r2"),
    ('metrics."val acc" = 0.5', "r2"),
    # times (now = 2026-11-15 00:00 UTC) and durations
    ("started > -7d", "r1 r2 r4"),
    ("started > -1d", "r4"),
    ("started >= -24h", "r1 r4"),
    ("started < -1w", "r3 r5"),
    ("started > 2026-11-10", "r1 r2 r4"),
    ('started < "2026-11-12 00:00"', "r3 r5"),
    ("started <= 2026-11-12T00:00:00", "r2 r3 r5"),
    ("started <= 2026-11-12T00:00:00Z", "r2 r3 r5"),
    ("started <= 2026-11-12T00:00:00+01:00", "r3 r5"),
    ("started <= 2026-11-12T00:00:00.5", "r2 r3 r5"),
    ("started > 1700000000", "r1 r2 r3 r4 r5"),
    ("started = null", "r6"),
    ("ended = null", "r4 r6"),
    ("created < -35d", "r6"),
    ("ended > -2d", "r1"),
    ("duration > 5m", "r2 r5"),
    ("duration >= 5m", "r1 r2 r5"),
    ("duration < 1h", "r1 r3"),
    ("duration <= 3600", "r1 r2 r3"),
    ("duration > 1.5h", "r5"),
    ("duration < 30s", ""),
    ("duration = null", "r4 r6"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_filter_selects(index: Any, text: str, expected: str) -> None:
    assert select(index, text) == expected.split()


@pytest.mark.parametrize("text", [None, "", "   \t\n"])
def test_empty_filter_is_true(index: Any, text: str | None) -> None:
    assert compile_filter(text) == ("TRUE", [])
    assert len(select(index, text)) == 6


def test_relative_time_defaults_to_now() -> None:
    before = time.time()
    sql, params = compile_filter("started > -1d")
    assert sql == "r.started_at > ?"
    assert isinstance(params[0], float)
    assert before - DAY - 1 <= params[0] <= time.time() - DAY + 1


def test_values_are_parameters_not_sql() -> None:
    sql, params = compile_filter(
        'name ~ resnet and params.optimizer = "adamw-x" and tag:"my tag" and metrics.acc_top > 1'
    )
    for value in ("resnet", "adamw-x", "my tag", "acc_top", "optimizer"):
        assert value not in sql
        assert value in params
    assert sql.count("?") == len(params)


ERRORS = [
    ("status = finished and", 22, "expected a field"),
    ("status = finished extra", 19, "unexpected 'extra'"),
    ("(status = finished", 1, "unclosed '('"),
    ("(status = finished x)", 20, "expected ')'"),
    ("status = finished)", 18, "unexpected ')'"),
    ('status = "finished', 10, "unclosed quote"),
    ("status = 'finished", 10, "unclosed quote"),
    ("status =", 9, "expected a value"),
    ("status = and", 10, "expected a value"),
    ("status finished", 8, "expected an operator"),
    ("status not finished", 12, "expected 'in'"),
    ("status ! finished", 8, "'!'"),
    ("status in finished", 11, "expected '('"),
    ("status in ()", 12, "expected a value"),
    ("status in (a, b", 11, "unclosed '('"),
    ("status in (a b)", 14, "expected ',' or ')'"),
    ("started > resnet", 11, "'started' is a time"),
    ("started > 2026-13-45", 11, "is a time"),
    ("started ~ x", 9, "'~' needs a text field"),
    ("attempts ~ 1", 10, "'~' needs a text field"),
    ("attempts = many", 12, "is a number"),
    ("duration > soon", 12, "is a duration"),
    ("dirty < true", 7, "= != in"),
    ("dirty = yes", 9, "true or false"),
    ("tag < a", 5, "= != in"),
    ("status = null and started < null", 29, "null can only"),
    ("status in (a, null)", 15, "null can only"),
    ("params.lr < true", 13, "true/false"),
    ("metrics.acc > high", 15, "is a number"),
    ("metrics.acc ~ x", 13, "'~' needs a text field"),
    ("params. = 1", 1, "expected a name"),
    ("params.lr;x = 1", 1, "not a bare key"),
    ('params."a"b = 1', 1, "unexpected text"),
    ('metrics."x".median > 1', 1, "unexpected text"),
    ("tag:", 1, "expected a name"),
    ('name = abc"def"', 8, "not one value"),
    ("()", 2, "expected a field"),
    ("and", 1, "expected a field"),
    ("status = a or", 14, "expected a field"),
]


@pytest.mark.parametrize(("text", "column", "fragment"), ERRORS)
def test_errors_point_at_the_problem(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(text, now=NOW)
    assert info.value.column == column
    assert fragment in info.value.reason
    assert info.value.text == text


def test_unknown_field_names_it_and_lists_valid_ones() -> None:
    with pytest.raises(FilterError) as info:
        compile_filter("status = a and fooo = 1")
    assert info.value.column == 16
    for word in ("'fooo'", "status", "started", "tag:NAME", "params.KEY", "metrics.KEY"):
        assert word in info.value.reason


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(FilterError):
        compile_filter("(" * 500 + "status = a" + ")" * 500)
    with pytest.raises(FilterError):
        compile_filter("not " * 500 + "status = a")
    assert compile_filter("((((status = a))))")[1] == ["a"]


INJECTIONS = [
    "'; DROP TABLE runs; --",
    "read_csv('/etc/passwd')",
    "name = read_csv('/etc/passwd')",
    'name = "\'; DROP TABLE runs; --"',
    "name = ''; DROP TABLE runs; --'",
    'name ~ "\') OR 1=1 --"',
    "status = finished; DROP TABLE runs",
    "status = finished or 1=1",
    'params."x\') OR TRUE; DROP TABLE runs; --" = 1',
    'params."x\'" = "\'; DROP TABLE runs; --"',
    'metrics."a""; DROP TABLE runs" > 0',
    "tag:\"x' OR '1'='1\"",
    'id in ("a\'); DROP TABLE runs; --")',
    'status = $$x$$ or name = "x"::VARCHAR',
    "name = \"read_csv('/etc/passwd')\"",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_is_rejected_or_literal(con: Any, text: str) -> None:
    try:
        sql, params = compile_filter(text)
    except FilterError:
        pass
    else:
        for payload in ("DROP", "read_csv", "passwd", "1=1", "'1'", "$$", "::"):
            assert payload not in sql
        assert select(con, text) == []
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (6,)
    assert con.execute("SELECT count(*) FROM tags").fetchone() == (7,)


# ----- order by -----

START_ORDER = ["r4", "r1", "r2", "r3", "r5", "r6"]  # newest first, never started last


def test_default_order(index: Any) -> None:
    assert compile_order_by(None) == DEFAULT_ORDER_BY
    assert compile_order_by("  ") == DEFAULT_ORDER_BY
    assert DEFAULT_ORDER_BY == "r.started_at DESC NULLS LAST, r.run_id DESC"
    assert ordered(index, None) == START_ORDER


ORDERS = [
    ("-started", START_ORDER),
    ("started desc", START_ORDER),
    ("started", ["r5", "r3", "r2", "r1", "r4", "r6"]),
    ("started ASC", ["r5", "r3", "r2", "r1", "r4", "r6"]),
    ("params.batch desc", ["r2", "r3", "r1", "r6", "r5", "r4"]),
    ("params.batch", ["r1", "r3", "r2", "r6", "r5", "r4"]),
    ("-params.batch", ["r2", "r3", "r1", "r6", "r5", "r4"]),
    ("params.lr", ["r2", "r4", "r1", "r3", "r5", "r6"]),
    ("metrics.val_acc.max desc, started", ["r2", "r3", "r1", "r4", "r5", "r6"]),
    ("-metrics.val_acc", ["r3", "r1", "r2", "r4", "r6", "r5"]),
    (f"metrics.{UNICODE_KEY}", ["r5", "r3", "r6", "r4", "r2", "r1"]),
    (f'-metrics."{LONG_KEY}".max', ["r5", "r2", "r6", "r4", "r3", "r1"]),
    ("attempts desc, name", ["r3", "r2", "r5", "r1", "r4", "r6"]),
    ("duration, id", ["r3", "r1", "r2", "r5", "r4", "r6"]),
    ('params."it\'s" desc', ["r2", "r6", "r5", "r4", "r3", "r1"]),
    ("user, -name", ["r3", "r1", "r5", "r6", "r2", "r4"]),
]


@pytest.mark.parametrize(("text", "expected"), ORDERS)
def test_order_by(index: Any, text: str, expected: list[str]) -> None:
    body = compile_order_by(text)
    assert body.endswith(", r.run_id DESC")
    assert ordered(index, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'params."x\'); DROP TABLE runs; --" desc',
        "metrics.\"a' || (SELECT 1) || '\"",
        'params."\'"',
    ],
)
def test_order_by_key_injection_is_harmless(con: Any, text: str) -> None:
    body = compile_order_by(text)
    assert ordered(con, text) == ["r6", "r5", "r4", "r3", "r2", "r1"]  # the key matches nothing
    assert body.count("'") % 2 == 0
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (6,)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("params.x;DROP", 1),
        ("started; DROP TABLE runs", 1),
        ("started desc; drop", 9),
        ("started desc desc", 14),
        ("-started asc", 10),
        ("started,", 9),
        ("-", 1),
        ("tag", 1),
        ("tag:x", 1),
        ("foo", 1),
        ("(started)", 1),
        ('params."a\x00b"', 1),
        ('name, metrics."x".median', 7),
    ],
)
def test_order_by_errors(text: str, column: int) -> None:
    with pytest.raises(FilterError) as info:
        compile_order_by(text)
    assert info.value.column == column
