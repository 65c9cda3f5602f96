"""The change feed (`GET changes?since=`) and the run list fetched in windows."""

from __future__ import annotations

import json
from typing import Any

import trackrun
from tests.server.common import check_answer, get, make_runs


async def changes(jp_fetch: Any, since: str, timeout: int = 10) -> Any:
    response = await jp_fetch(
        "trackrun", "api", "changes", params={"since": since, "timeout": str(timeout)}
    )
    check_answer("changes", "get", response)
    return json.loads(response.body)


async def test_feed_reports_new_changed_and_deleted_runs(jp_fetch: Any) -> None:
    first, second = make_runs()
    live = trackrun.start_run(name="live")
    live.flush()
    page = await get(jp_fetch, "runs")
    token = page["change_token"]
    assert {r["run_id"] for r in page["runs"]} == {first, second, live.run_id}

    await jp_fetch(
        "trackrun", "api", "runs", first, "tags", method="POST", body='{"add": ["best"]}'
    )
    await jp_fetch("trackrun", "api", "runs", second, method="DELETE")
    live.finish()
    with trackrun.start_run(name="newcomer") as new:
        pass

    answer = await changes(jp_fetch, token)
    assert answer["reset"] is False and answer["change_token"] != token
    rows = {r["run_id"]: r for r in answer["runs"]}
    assert set(rows) == {first, live.run_id, new.run_id}
    assert "best" in rows[first]["tags"] and rows[live.run_id]["status"] == "finished"
    assert answer["deleted"] == [second]

    # Nothing changed since the new token: the poll waits, then answers an empty diff.
    quiet = await changes(jp_fetch, answer["change_token"], timeout=0)
    assert quiet == {
        "change_token": answer["change_token"],
        "reset": False,
        "runs": [],
        "deleted": [],
        "unmatched": [],
    }


async def test_unknown_token_asks_for_a_refetch(jp_fetch: Any) -> None:
    make_runs()
    for since in ("", "made-up", "0-None-None-0"):
        answer = await changes(jp_fetch, since, timeout=0)
        assert answer["reset"] is True and answer["runs"] == [] and answer["deleted"] == []
        assert answer["change_token"]


async def test_feed_token_from_changes_chains(jp_fetch: Any) -> None:
    empty = (await changes(jp_fetch, "", timeout=0))["change_token"]
    first = make_runs()
    token_answer = await changes(jp_fetch, empty)
    assert sorted(r["run_id"] for r in token_answer["runs"]) == sorted(first)
    token = token_answer["change_token"]
    with trackrun.start_run(name="later") as later:
        pass
    answer = await changes(jp_fetch, token)
    assert [r["run_id"] for r in answer["runs"]] == [later.run_id]


async def test_windows_cover_the_list_once_with_its_total(jp_fetch: Any) -> None:
    for i in range(7):
        with trackrun.start_run(name=f"r{i}", params={"i": i}):
            pass
    whole = await get(jp_fetch, "runs", order_by="params.i")
    assert whole["total"] == 7
    seen = []
    for offset in range(0, 9, 3):
        window = await get(jp_fetch, "runs", order_by="params.i", offset=offset, limit=3)
        assert window["total"] == 7 and window["offset"] == offset and window["limit"] == 3
        seen += [r["params"]["i"] for r in window["runs"]]
    assert seen == list(range(7))
    past = await get(jp_fetch, "runs", offset=50, limit=3)
    assert past["runs"] == [] and past["total"] == 7
    filtered = await get(jp_fetch, "runs", filter="params.i >= 5", limit=1)
    assert filtered["total"] == 2 and len(filtered["runs"]) == 1


async def test_feed_with_a_filter_sends_matching_rows_and_names_the_others(jp_fetch: Any) -> None:
    first, second = make_runs()
    token = (await get(jp_fetch, "runs"))["change_token"]
    for run_id in (first, second):
        await jp_fetch(
            "trackrun", "api", "runs", run_id, "tags", method="POST", body='{"add": ["seen"]}'
        )
    response = await jp_fetch(
        "trackrun",
        "api",
        "changes",
        params={"since": token, "timeout": "10", "filter": "params.lr > 0.005"},
    )
    check_answer("changes", "get", response)
    answer = json.loads(response.body)
    assert [r["run_id"] for r in answer["runs"]] == [first]
    assert answer["unmatched"] == [second] and answer["deleted"] == []


async def test_feed_refuses_an_invalid_filter(jp_fetch: Any) -> None:
    import pytest
    from tornado.httpclient import HTTPClientError

    make_runs()
    # A filter that only parses inside the parentheses the server adds is refused too.
    for bad in ("params.lr >", "status = 'x') or (name ~ 'a'"):
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch(
                "trackrun", "api", "changes", params={"since": "", "timeout": "0", "filter": bad}
            )
        assert error.value.code == 400
        assert json.loads(error.value.response.body)["code"] == "invalid_filter"
