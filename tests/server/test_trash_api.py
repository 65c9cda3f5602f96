"""The trash over REST: list, restore (re-indexed), delete for good; bad and unknown ids; and
the keys the filter box completes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.server.common import check_answer, get, make_runs


async def call(jp_fetch: Any, method: str, *path: str) -> Any:
    body = "{}" if method == "POST" else None
    response = await jp_fetch("trackrun", "api", *path, method=method, body=body)
    route = "/".join(path[:1] + ("{run_id}",) + path[2:]) if len(path) > 1 else path[0]
    check_answer(route, method.lower(), response)
    return json.loads(response.body)


async def refused(jp_fetch: Any, method: str, *path: str) -> tuple[int, dict[str, Any]]:
    body = "{}" if method == "POST" else None
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("trackrun", "api", *path, method=method, body=body)
    assert error.value.response is not None
    return error.value.code, json.loads(error.value.response.body)


async def test_delete_list_restore_and_delete_forever(jp_fetch: Any, isolated_store: Path) -> None:
    first, second = make_runs()
    await jp_fetch("trackrun", "api", "runs", first, method="DELETE")
    await jp_fetch("trackrun", "api", "runs", second, method="DELETE")
    trash = await call(jp_fetch, "GET", "trash")
    assert {r["run_id"] for r in trash["runs"]} == {first, second}
    assert {r["name"] for r in trash["runs"]} == {"lr-0.01", "lr-0.001"}
    assert (await get(jp_fetch, "runs"))["total"] == 0

    assert await call(jp_fetch, "POST", "trash", first, "restore") == {
        "run_id": first,
        "restored": True,
    }
    page = await get(jp_fetch, "runs")
    assert [r["run_id"] for r in page["runs"]] == [first]
    assert page["runs"][0]["params"]["lr"] == 0.01 and page["runs"][0]["tags"] == ["sweep"]
    assert [r["run_id"] for r in (await call(jp_fetch, "GET", "trash"))["runs"]] == [second]

    assert await call(jp_fetch, "DELETE", "trash", second) == {"run_id": second, "deleted": True}
    assert not (isolated_store / "trash" / second).exists()
    assert (await call(jp_fetch, "GET", "trash"))["runs"] == []


async def test_bad_id_is_400_unknown_is_404_existing_is_409(
    jp_fetch: Any, isolated_store: Path
) -> None:
    first, _ = make_runs()
    for bad in ("not-a-run", "..", "20261126-031302-7F3A9C"):
        for method, path in (("POST", ("trash", bad, "restore")), ("DELETE", ("trash", bad))):
            code, body = await refused(jp_fetch, method, *path)
            assert code == 400 and body["code"] == "invalid_run_id", (bad, body)
    unknown = "20200101-000000-abcdef"
    for method, path in (("POST", ("trash", unknown, "restore")), ("DELETE", ("trash", unknown))):
        code, body = await refused(jp_fetch, method, *path)
        assert code == 404 and body["code"] == "run_not_found"
        assert unknown in body["message"] and str(isolated_store) not in body["message"]
    # A run that is in the store, not the trash: delete-forever cannot reach it.
    code, _ = await refused(jp_fetch, "DELETE", "trash", first)
    assert code == 404
    assert (isolated_store / "runs" / first / "run.json").is_file()
    # The trash holds a copy of a run that is also in the store again: restore refuses.
    await jp_fetch("trackrun", "api", "runs", first, method="DELETE")
    (isolated_store / "runs" / first).mkdir()
    code, body = await refused(jp_fetch, "POST", "trash", first, "restore")
    assert code == 409 and "already exists" in body["message"]
    assert str(isolated_store) not in body["message"]
    assert (isolated_store / "trash" / first / "run.json").is_file()


async def test_keys_lists_params_metrics_and_tags_of_the_store(jp_fetch: Any) -> None:
    make_runs()
    keys = await call(jp_fetch, "GET", "keys")
    assert keys == {"params": ["lr", "opt"], "metrics": ["acc", "loss"], "tags": ["sweep"]}
