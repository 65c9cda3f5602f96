"""The wire contract: docs/openapi.json is current, and real answers fit it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import trackrun
from tests.server.common import (
    SPEC,
    check_answer,
    check_body,
    get,
    make_runs,
    methods,
    samples,
    store_files,
)
from trackrun.server import openapi
from trackrun.server.handlers import ROUTES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_openapi_json_is_current() -> None:
    assert DOCS.read_text() == openapi.render(), (
        "docs/openapi.json is stale: run `jlpm contract:generate` "
        "(python -m trackrun.server.openapi > docs/openapi.json)"
    )


def test_openapi_check_command_fails_on_drift(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(DOCS.read_text().replace('"RunRow"', '"RowRun"', 1))
    command = [sys.executable, "-m", "trackrun.server.openapi", "--check"]
    assert subprocess.run([*command, str(DOCS)], capture_output=True).returncode == 0
    drift = subprocess.run([*command, str(stale)], capture_output=True, text=True)
    assert drift.returncode == 1 and "stale" in drift.stderr


def test_openapi_document_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(
        {"$defs": SPEC["components"]["schemas"]}  # every model is a valid JSON Schema
    )
    assert SPEC["openapi"].startswith("3.1")


def test_every_route_method_has_one_operation() -> None:
    for path, handler in ROUTES:
        assert sorted(handler.operations) == sorted(methods(handler)), path
        assert sorted(SPEC["paths"]["/" + path]) == sorted(methods(handler)), path


async def test_get_answers_every_route_and_changes_nothing(
    jp_fetch: Any, isolated_store: Path
) -> None:
    ids = make_runs()
    before = store_files(isolated_store)
    answered = set()
    for sample in samples(ids):
        if sample.writes:
            continue
        response = await jp_fetch(
            "trackrun", "api", *sample.path.split("/"), params=sample.params or None
        )
        assert response.code == 200, sample
        check_answer(sample.route, "get", response)
        answered.add(sample.route)
    assert answered == {path for path, handler in ROUTES if "get" in methods(handler)}
    detail = await get(jp_fetch, f"runs/{ids[0]}")
    assert detail["params"]["lr"] == 0.01 and detail["code_files"] == ["cell.py"]
    assert [a["name"] for a in detail["artifacts"]] == ["weights.txt"]
    page = await get(jp_fetch, "runs")
    assert page["total"] == 2 and {r["run_id"] for r in page["runs"]} == set(ids)
    assert store_files(isolated_store) == before


async def test_answers_of_live_and_failed_runs_fit_the_contract(jp_fetch: Any) -> None:
    running = trackrun.start_run(name="live", params={"nested": {"a": [1, 2]}})
    trackrun.log(loss=float("inf"), step=0)
    running.flush()
    try:
        with trackrun.start_run(name="broken"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    for path in ("runs", "status", f"runs/{running.run_id}", f"runs/{running.run_id}/log"):
        route = path.replace(running.run_id, "{run_id}")
        check_answer(route, "get", await jp_fetch("trackrun", "api", *path.split("/")))
    running.finish()


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "runs", {"limit": "ten"}, None),
        ("GET", "runs", {"offset": "1.5"}, None),
        ("GET", "changes", {"timeout": "soon"}, None),
        ("GET", "runs/{id}/metrics", {"max_points": "many"}, None),
        ("GET", "runs/{id}/log", {"offset": "end"}, None),
        ("DELETE", "runs/{id}", {"force": "maybe"}, None),
        ("POST", "runs/{id}/tags", {}, "not json"),
        ("POST", "runs/{id}/tags", {}, "[1, 2]"),
        ("POST", "runs/{id}/tags", {}, '{"add": "best"}'),
        ("POST", "runs/{id}/tags", {}, '{"add": [1]}'),
        ("POST", "runs/{id}/tags", {}, '{"colour": "red"}'),
        ("POST", "runs/{id}/rerun", {}, '{"params": [1]}'),
        ("GET", "compare", {"ids": "only-one"}, None),
    ],
)
async def test_bad_input_is_400_with_a_message(
    jp_fetch: Any, method: str, path: str, params: dict[str, str], body: str | None
) -> None:
    run_id = make_runs()[0]
    route = path.replace("{id}", "{run_id}")
    response = await jp_fetch(
        "trackrun",
        "api",
        *path.replace("{id}", run_id).split("/"),
        method=method,
        params=params or None,
        body=body,
        raise_error=False,
    )
    assert response.code == 400, response.body
    answer = json.loads(response.body)
    assert answer["message"] and answer["code"] in ("invalid_request", "invalid_run_id")
    check_answer(route, method.lower(), response)
    assert len((await get(jp_fetch, "runs"))["runs"]) == 2


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("runs", {"limit": "-1"}),
        ("runs", {"limit": str(10**30)}),
        ("runs", {"offset": str(10**30)}),
        ("runs", {"offset": "-7"}),
        ("runs", {"offset": str(2**62), "limit": str(2**62)}),
        ("runs", {"order_by": "no such column!"}),
        ("changes", {"timeout": "-5"}),
        ("runs/{id}/metrics", {"max_points": "-1"}),
        ("runs/{id}/metrics", {"max_points": str(10**30)}),
        ("runs/{id}/metrics", {"keys": ",,,"}),
        ("runs/{id}/chart", {"max_points": "-1"}),
        ("runs/{id}/log", {"offset": str(10**30)}),
        ("runs/{id}/log", {"offset": str(-(10**30))}),
        ("runs/{id}/log", {"max_bytes": "-1"}),
        ("runs/{id}/log", {"offset": str(2**62), "max_bytes": str(2**62)}),
        ("compare", {"ids": "20261126-000000-abcdef,20261126-000000-abcdee"}),
    ],
)
async def test_edge_values_never_answer_500(
    jp_fetch: Any, path: str, params: dict[str, str]
) -> None:
    run_id = make_runs()[0]
    route = path.replace("{id}", "{run_id}")
    response = await jp_fetch(
        "trackrun",
        "api",
        *path.replace("{id}", run_id).split("/"),
        params=params,
        raise_error=False,
    )
    assert response.code in (200, 400, 404), (response.code, response.body[:300])
    check_answer(route, "get", response)


async def test_answer_check_refuses_what_the_contract_does_not_declare(jp_fetch: Any) -> None:
    """The check used above can fail: an extra key, a wrong type, a missing key, a status."""
    make_runs()
    response = await jp_fetch("trackrun", "api", "runs")
    check_answer("runs", "get", response)
    page = json.loads(response.body)
    broken = [
        {**page, "surprise": 1},
        {**page, "total": "2"},
        {k: v for k, v in page.items() if k != "change_token"},
        {**page, "runs": [{**page["runs"][0], "status": "sleeping"}]},
    ]
    kind = "application/json"
    for body in broken:
        with pytest.raises(jsonschema.ValidationError):
            check_body("runs", "get", 200, kind, json.dumps(body).encode())
    with pytest.raises(AssertionError, match="not in the contract"):
        check_body("runs", "get", 418, kind, response.body)
