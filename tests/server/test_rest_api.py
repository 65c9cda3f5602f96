"""The REST API against a real Jupyter server: every endpoint, auth, traversal, injection."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import trackrun
from trackrun.server.handlers import ROUTES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def get(jp_fetch: Any, path: str, **params: Any) -> Any:
    response = await jp_fetch("trackrun", "api", *path.split("/"), params=params or None)
    return json.loads(response.body)


def make_runs() -> list[str]:
    ids = []
    for lr, acc in ((0.01, 0.9), (0.001, math.nan)):
        with trackrun.start_run(
            name=f"lr-{lr}", params={"lr": lr, "opt": "adam"}, tags=["sweep"]
        ) as run:
            for step in range(5):
                trackrun.log(loss=lr * step, acc=acc, step=step)
            with open(run.paths.output_log, "a") as log:
                print("hello", file=log)
            run.paths.code.mkdir(exist_ok=True)
            (run.paths.code / "cell.py").write_text(f"lr = {lr}\n")
        ids.append(run.run_id)
    return ids


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
    "target",
    [
        "..%2Frun.json",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "link.py",
        "..",
        "%2e%2e%2frun.json",
    ],
)
async def test_file_endpoints_refuse_escapes(jp_fetch: Any, target: str, tmp_path: Path) -> None:
    ids = make_runs()
    code = Path(os.environ["TRACKRUN_HOME"]) / "runs" / ids[0] / "code"
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (code / "link.py").symlink_to(secret)
    for folder in ("code", "artifacts"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("trackrun", "api", "runs", ids[0], folder, urllib.parse.unquote(target))
        assert info.value.code in (400, 404)
        assert b"top secret" not in (info.value.response.body or b"")
        assert b"root:" not in (info.value.response.body or b"")


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


# -- authentication on every route ------------------------------------------------------------
def _concrete(path: str) -> str:
    path = re.sub(r"\(\?P<run_id>[^)]*\)", "20261126-000000-abcdef", path)
    path = re.sub(r"\(\?P<folder>[^)]*\)", "code", path)
    return re.sub(r"\(\?P<name>[^)]*\)", "cell.py", path)


def _methods(handler: type) -> list[str]:
    return [m for m in ("get", "post", "put", "delete", "patch") if m in handler.__dict__]


def test_every_handler_method_is_authenticated_and_authorized() -> None:
    for path, handler in ROUTES:
        for method in _methods(handler):
            function = handler.__dict__[method]
            # tornado's web.authenticated and jupyter_server's authorized both wrap with functools.wraps
            assert hasattr(function, "__wrapped__"), (path, method)
            source = __import__("inspect").getsource(function)
            assert "@web.authenticated" in source and "@authorized" in source, (path, method)


async def test_unauthenticated_requests_are_refused_on_every_route(
    jp_fetch: Any, jp_base_url: str, http_server_client: Any
) -> None:
    make_runs()
    for path, handler in ROUTES:
        url = f"{jp_base_url.rstrip('/')}/trackrun/api/{_concrete(path)}"
        for method in _methods(handler):
            body = "{}" if method in ("post", "put", "patch") else None
            for headers in ({}, {"Authorization": "token wrong-token"}):
                with pytest.raises(HTTPClientError) as info:
                    await http_server_client.fetch(
                        url, method=method.upper(), body=body, headers=headers
                    )
                assert info.value.code == 403, (method, url, headers)


async def test_cookie_authenticated_writes_need_xsrf(
    jp_fetch: Any, jp_base_url: str, http_server_client: Any, jp_serverapp: Any
) -> None:
    ids = make_runs()
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(
        f"{jp_base_url.rstrip('/')}/login?token={token}", follow_redirects=False, raise_error=False
    )
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert "username" in cookies or "_xsrf" in cookies
    cookie_only = {"Cookie": cookies}
    ok = await http_server_client.fetch(
        f"{jp_base_url.rstrip('/')}/trackrun/api/runs", headers=cookie_only
    )
    assert ok.code == 200  # the login cookie authenticates reads
    for path, handler in ROUTES:
        for method in _methods(handler):
            if method == "get":
                continue
            url = f"{jp_base_url.rstrip('/')}/trackrun/api/{_concrete(path).replace('20261126-000000-abcdef', ids[0])}"
            with pytest.raises(HTTPClientError) as info:
                await http_server_client.fetch(
                    url,
                    method=method.upper(),
                    body="{}" if method != "delete" else None,
                    headers=cookie_only,
                )
            assert info.value.code == 403, (method, url)
    assert ids[0] in [r["run_id"] for r in (await get(jp_fetch, "runs"))["runs"]]


async def test_get_never_changes_state(jp_fetch: Any, isolated_store: Path) -> None:
    ids = make_runs()
    before = sorted(
        str(p.relative_to(isolated_store)) + str(p.stat().st_size)
        for p in (isolated_store / "runs").rglob("*")
        if p.is_file()
    )
    for path, handler in ROUTES:
        if "get" in handler.__dict__ and "{" not in path:
            concrete = _concrete(path).replace("20261126-000000-abcdef", ids[0])
            params = (
                {"ids": ",".join(ids)}
                if path == "compare"
                else ({"timeout": "0"} if path == "changes" else None)
            )
            with contextlib.suppress(HTTPClientError):
                await jp_fetch("trackrun", "api", *concrete.split("/"), params=params)
    time.sleep(0.1)
    after = sorted(
        str(p.relative_to(isolated_store)) + str(p.stat().st_size)
        for p in (isolated_store / "runs").rglob("*")
        if p.is_file()
    )
    assert before == after
