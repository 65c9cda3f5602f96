"""``PATCH runs/{run_id}``: rename a run and edit its note over REST, on a real Jupyter server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import trackrun
from tests.server.common import check_body, get, make_runs
from trackrun.events import append_event


async def patch(jp_fetch: Any, run_id: str, body: Any) -> Any:
    response = await jp_fetch(
        "trackrun", "api", "runs", run_id, method="PATCH", body=json.dumps(body)
    )
    check_body(
        "runs/{run_id}", "patch", response.code, response.headers["Content-Type"], response.body
    )
    return json.loads(response.body)


async def refused(
    jp_fetch: Any, run_id: str, body: Any, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "trackrun", "api", "runs", run_id, method="PATCH", body=json.dumps(body), **kwargs
        )
    assert info.value.response is not None
    return info.value.code, json.loads(info.value.response.body)


async def test_patch_renames_sets_the_note_and_answers_the_run(jp_fetch: Any) -> None:
    ids = make_runs()
    detail = await patch(jp_fetch, ids[0], {"name": "the one in Figure 3", "note": "lr\nok"})
    assert detail["run_id"] == ids[0]
    assert detail["name"] == "the one in Figure 3" and detail["note"] == "lr\nok"
    # Each field alone changes only itself.
    detail = await patch(jp_fetch, ids[0], {"note": "  newer  "})
    assert detail["name"] == "the one in Figure 3" and detail["note"] == "newer"
    detail = await patch(jp_fetch, ids[0], {"name": "fig-3"})
    assert detail["name"] == "fig-3" and detail["note"] == "newer"
    assert (await patch(jp_fetch, ids[0], {"note": ""}))["note"] is None
    listing = await get(jp_fetch, "runs")
    names = {r["run_id"]: r["name"] for r in listing["runs"]}
    assert names == {ids[0]: "fig-3", ids[1]: "lr-0.001"}


async def test_the_change_feed_brings_a_renamed_row(jp_fetch: Any, isolated_store: Path) -> None:
    ids = make_runs()
    # A run written on a host whose clock runs an hour ahead: a rename made here does not
    # move its last event time, so only the name itself can tell the feed it changed.
    append_event(
        isolated_store / "runs" / ids[1] / "events.jsonl", "heartbeat", time=time.time() + 3600
    )
    first = await get(jp_fetch, "changes", since="", timeout=0)
    await patch(jp_fetch, ids[1], {"name": "renamed"})
    changes = await get(jp_fetch, "changes", since=first["change_token"], timeout=5)
    rows = {r["run_id"]: r for r in changes["runs"]}
    assert not changes["reset"] and rows[ids[1]]["name"] == "renamed"
    assert ids[0] not in rows
    await patch(jp_fetch, ids[1], {"note": "a note changes the run too"})
    again = await get(jp_fetch, "changes", since=changes["change_token"], timeout=5)
    assert [r["run_id"] for r in again["runs"]] == [ids[1]]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "names nothing to change"),
        ({"name": ""}, "cannot be empty"),
        ({"name": "a\x00b"}, "U+0000"),
        ({"note": "x" * 10_001}, "at most 10,000 characters"),
        ({"name": 3}, "name must be a string"),
        ({"title": "x"}, "unknown field 'title'"),
        ({"name": "good", "note": "bad \x1b"}, "U+001B"),
    ],
)
async def test_a_bad_body_is_400_with_the_reason_and_writes_nothing(
    jp_fetch: Any, isolated_store: Path, body: Any, words: str
) -> None:
    ids = make_runs()
    code, answer = await refused(jp_fetch, ids[0], body)
    assert code == 400 and words in answer["message"], answer
    assert not (isolated_store / "runs" / ids[0] / "events.api.jsonl").exists()
    detail = await get(jp_fetch, f"runs/{ids[0]}")
    assert detail["name"] == "lr-0.01" and detail["note"] is None


async def test_an_unknown_run_is_404_and_a_bad_id_400(jp_fetch: Any, isolated_store: Path) -> None:
    make_runs()
    code, answer = await refused(jp_fetch, "20000101-000000-abcdef", {"name": "x"})
    assert code == 404 and answer["code"] == "run_not_found"
    assert not (isolated_store / "runs" / "20000101-000000-abcdef").exists()
    code, _ = await refused(jp_fetch, "not..an-id", {"name": "x"})
    assert code == 400


async def test_patch_without_a_token_is_refused(jp_fetch: Any, isolated_store: Path) -> None:
    ids = make_runs()
    code, _ = await refused(
        jp_fetch, ids[0], {"name": "x"}, headers={"Authorization": "token wrong"}
    )
    assert code == 403
    assert trackrun.get_store().summary(ids[0])["name"] == "lr-0.01"
    assert not (isolated_store / "runs" / ids[0] / "events.api.jsonl").exists()
