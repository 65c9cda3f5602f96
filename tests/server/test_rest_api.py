"""The REST API against a real Jupyter server: what each endpoint answers, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import trackrun
from tests.server.common import get, make_runs


async def test_status_and_runs_listing_with_etag(jp_fetch: Any) -> None:
    ids = make_runs()
    status = await get(jp_fetch, "status")
    assert status["store"] and status["running"] == 0 and status["launcher"]["max_parallel"] == 2
    response = await jp_fetch("trackrun", "api", "runs", params={"order_by": "params.lr"})
    body = json.loads(response.body)
    assert [r["run_id"] for r in body["runs"]] == ids[::-1]
    assert body["total"] == 2
    assert body["runs"][1]["params"] == {"lr": 0.01, "opt": "adam"}
    assert body["runs"][0]["metrics"]["acc"]["last"] == "NaN"  # valid JSON for NaN
    etag = response.headers["ETag"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "trackrun",
            "api",
            "runs",
            params={"order_by": "params.lr"},
            headers={"If-None-Match": etag},
        )
    assert info.value.code == 304
    with trackrun.start_run(name="new"):
        pass
    fresh = await jp_fetch(
        "trackrun", "api", "runs", params={"order_by": "params.lr"}, headers={"If-None-Match": etag}
    )
    assert len(json.loads(fresh.body)["runs"]) == 3


async def test_pagination_and_filter(jp_fetch: Any) -> None:
    make_runs()
    page = await get(jp_fetch, "runs", limit=1, offset=1, order_by="params.lr")
    assert page["total"] == 2 and len(page["runs"]) == 1 and page["runs"][0]["params"]["lr"] == 0.01
    filtered = await get(jp_fetch, "runs", filter="params.lr < 0.005 and tag:sweep")
    assert [r["name"] for r in filtered["runs"]] == ["lr-0.001"]


async def test_run_detail_metrics_chart_log_code(jp_fetch: Any) -> None:
    ids = make_runs()
    detail = await get(jp_fetch, f"runs/{ids[0]}")
    assert detail["name"] == "lr-0.01" and detail["params"]["lr"] == 0.01
    assert detail["metrics"]["loss"]["count"] == 5 and detail["code_files"] == ["cell.py"]
    assert "packages" in detail["provenance"] and detail["provenance"]["python"]
    series = await get(jp_fetch, f"runs/{ids[0]}/metrics", keys="loss")
    assert series["series"]["loss"]["steps"] == [0, 1, 2, 3, 4]
    chart = await get(jp_fetch, f"runs/{ids[1]}/chart")
    assert "$schema" in chart and "vega-lite" in chart["$schema"]
    log = await get(jp_fetch, f"runs/{ids[0]}/log")
    assert log["text"] == "hello\n" and log["next_offset"] == 6 and log["live"] is False
    code = await jp_fetch("trackrun", "api", "runs", ids[0], "code", "cell.py")
    assert code.body.decode() == "lr = 0.01\n"


async def test_run_detail_tells_dropped_records_and_a_stalled_main_thread(
    jp_fetch: Any,
) -> None:
    from trackrun.events import append_event

    with trackrun.start_run(name="hurt") as hurt:
        trackrun.log(loss=1.0, step=0)
    healthy = await get(jp_fetch, f"runs/{hurt.run_id}")
    assert healthy["health"] == {"dropped_records": 0, "stalled_for": 0.0}
    append_event(hurt.paths.events_of("observer"), "status", status="failed", dropped_records=1234)
    assert (await get(jp_fetch, f"runs/{hurt.run_id}"))["health"]["dropped_records"] == 1234
    stuck = trackrun.start_run(name="stuck")
    try:
        append_event(stuck.paths.events_of("observer"), "heartbeat", stalled_for=720.0)
        assert (await get(jp_fetch, f"runs/{stuck.run_id}"))["health"]["stalled_for"] == 720.0
        append_event(stuck.paths.events_of("observer"), "heartbeat", stalled_for=5.0)
        assert (await get(jp_fetch, f"runs/{stuck.run_id}"))["health"]["stalled_for"] == 0.0
    finally:
        stuck.finish()


async def test_compare(jp_fetch: Any) -> None:
    ids = make_runs()
    answer = await get(jp_fetch, "compare", ids=",".join(ids))
    assert answer["params_diff"]["columns"][-1] == "lr"
    assert (
        "opt" not in answer["params_diff"]["columns"] and "opt" in answer["params_all"]["columns"]
    )
    assert (
        "-lr = 0.01" in answer["code_diff"]["cell"] and "+lr = 0.001" in answer["code_diff"]["cell"]
    )
    assert "vega-lite" in answer["chart"]["$schema"]


async def test_tags_delete_and_state_rules(jp_fetch: Any, isolated_store: Path) -> None:
    ids = make_runs()
    response = await jp_fetch(
        "trackrun",
        "api",
        "runs",
        ids[0],
        "tags",
        method="POST",
        body=json.dumps({"add": ["best"], "remove": ["sweep"]}),
    )
    assert json.loads(response.body)["tags"] == ["best"]
    running = trackrun.start_run(name="busy")
    running.flush()
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("trackrun", "api", "runs", running.run_id, method="DELETE")
    assert info.value.code == 409
    assert "still running" in json.loads(info.value.response.body)["message"]
    running.finish()
    await jp_fetch("trackrun", "api", "runs", ids[1], method="DELETE")
    assert (isolated_store / "trash" / ids[1]).is_dir()
    listing = await get(jp_fetch, "runs")
    assert ids[1] not in [r["run_id"] for r in listing["runs"]]


async def test_log_followed_by_offset_equals_final_log(jp_fetch: Any) -> None:
    run = trackrun.start_run(name="logger")
    pieces = [
        "plain line\n",
        "progress 10%\r",
        "progress 100%\n",
        "ünïcødé ✓\n",
        "x" * 70_000 + "\n",
    ]
    collected, offset = "", 0
    for piece in pieces:
        with open(run.paths.output_log, "ab") as f:
            data = piece.encode()
            f.write(data[: len(data) // 2])
            f.flush()
            answer = await get(jp_fetch, f"runs/{run.run_id}/log", offset=offset, max_bytes=4096)
            collected += answer["text"]
            offset = answer["next_offset"]
            f.write(data[len(data) // 2 :])
        while True:
            answer = await get(jp_fetch, f"runs/{run.run_id}/log", offset=offset, max_bytes=4096)
            collected += answer["text"]
            offset = answer["next_offset"]
            if not answer["text"]:
                break
    run.finish()
    assert collected == run.paths.output_log.read_bytes().decode()
    tail = await get(jp_fetch, f"runs/{run.run_id}/log", offset=-10)
    assert tail["text"] == run.paths.output_log.read_bytes().decode()[-10:]


@pytest.mark.parametrize(
    "filter_text", ["'; DROP TABLE runs; --", "read_csv('/etc/passwd')", 'name ~ "x\') OR 1=1 --"']
)
async def test_malicious_filters_are_harmless(jp_fetch: Any, filter_text: str) -> None:
    make_runs()
    try:
        answer = await get(jp_fetch, "runs", filter=filter_text)
        assert answer["runs"] == []
    except HTTPClientError as error:
        assert error.code == 400
        body = json.loads(error.response.body)
        assert body["code"] == "invalid_filter" and "Traceback" not in body["message"]
    assert len((await get(jp_fetch, "runs"))["runs"]) == 2


async def test_errors_are_json_without_paths(jp_fetch: Any, isolated_store: Path) -> None:
    for path, code in (
        ("runs/nope", 400),
        ("runs/20990101-000000-abcdef", 404),
        ("runs/20990101-000000-abcdef/log", 404),
    ):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("trackrun", "api", *path.split("/"))
        assert info.value.code == code, path
        body = json.loads(info.value.response.body)
        assert set(body) >= {"message", "code"} and str(isolated_store) not in body["message"]


HOLD_INDEX = """
import sys, time, duckdb
deadline = time.monotonic() + 60
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.Error:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
print("holding", flush=True)
sys.stdin.read()
"""


def hold_index(store_root: Path) -> subprocess.Popen[str]:
    """Another program holding index.duckdb open (after this process lets go of it)."""
    for store in trackrun.api._stores.values():
        store.close()  # let go of the index, as a finished notebook would
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_INDEX, str(store_root / "index.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


async def test_index_held_by_another_program_is_503_without_paths(
    jp_fetch: Any, isolated_store: Path
) -> None:
    make_runs()
    holder = hold_index(isolated_store)
    try:
        response = await jp_fetch("trackrun", "api", "runs", raise_error=False)
        assert response.code == 503, response.body
        body = json.loads(response.body)
        assert body["code"] == "store_error" and "another program" in body["message"]
        assert str(isolated_store) not in body["message"]
    finally:
        holder.communicate("", timeout=30)


async def test_server_recovers_once_the_other_program_lets_go(
    jp_fetch: Any, isolated_store: Path
) -> None:
    make_runs()
    holder = hold_index(isolated_store)
    try:
        response = await jp_fetch("trackrun", "api", "runs", raise_error=False)
        assert response.code == 503
    finally:
        holder.communicate("", timeout=30)
    assert len((await get(jp_fetch, "runs"))["runs"]) == 2
