"""Authentication and authorization on every route: header, cookie (with and without XSRF),
no or wrong credentials, and a read-only authorizer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer

import trackrun
from tests.server.common import (
    SPEC,
    Sample,
    check_answer,
    get,
    make_runs,
    methods,
    samples,
    store_files,
)
from trackrun.server.handlers import ROUTES


class ReadOnlyAuthorizer(Authorizer):
    """Lets every authenticated user read, and nobody write."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


async def send(client: Any, base: str, sample: Sample, headers: dict[str, str]) -> Any:
    """The sample request with these headers only (no jp_fetch credentials)."""
    query = "&".join(f"{k}={v}" for k, v in sample.params.items())
    url = f"{base.rstrip('/')}/trackrun/api/{sample.path}" + (f"?{query}" if query else "")
    body = json.dumps(sample.body if sample.body is not None else {})
    return await client.fetch(
        url,
        method=sample.method.upper(),
        body=None if sample.method in ("get", "delete") else body,
        headers=headers,
        raise_error=False,
        follow_redirects=False,
    )


async def login_cookies(client: Any, base: str, token: str) -> tuple[str, str]:
    """Log in with the token as a browser does; the cookies, and the XSRF value to echo.

    The XSRF cookie is ours (a browser gets one from the first page it loads): the server
    checks that the header repeats the cookie, which a cross-site page cannot read.
    """
    login = await client.fetch(
        f"{base.rstrip('/')}/login?token={token}", follow_redirects=False, raise_error=False
    )
    pairs = [c.split(";")[0] for c in login.headers.get_list("Set-Cookie")]
    assert any(p.startswith("username") for p in pairs), pairs
    xsrf = "5f" * 16
    return "; ".join([*pairs, f"_xsrf={xsrf}"]), xsrf


def assert_refused(response: Any, why: str) -> None:
    assert response.code == 403, (why, response.code, response.body[:200])
    body = json.loads(response.body)
    assert set(body) >= {"message", "code"}, body


async def test_unauthenticated_requests_are_refused_on_every_route(
    jp_fetch: Any, jp_base_url: str, http_server_client: Any
) -> None:
    ids = make_runs()
    for sample in samples(ids):
        for headers in ({}, {"Authorization": "token wrong-token"}):
            response = await send(http_server_client, jp_base_url, sample, headers)
            assert_refused(response, (sample.method, sample.path, headers))
    assert len((await get(jp_fetch, "runs"))["runs"]) == 2


async def test_header_auth_reaches_every_route(jp_fetch: Any) -> None:
    ids = make_runs()
    for sample in samples(ids):
        response = await jp_fetch(
            "trackrun",
            "api",
            *sample.path.split("/"),
            method=sample.method.upper(),
            params=sample.params or None,
            body=None if sample.method in ("get", "delete") else json.dumps(sample.body),
            raise_error=False,
        )
        assert response.code == sample.status, (sample, response.body[:300])
        check_answer(sample.route, sample.method, response)


async def test_cookie_auth_reads_and_writes_only_with_xsrf(
    jp_fetch: Any,
    jp_base_url: str,
    http_server_client: Any,
    jp_serverapp: Any,
    isolated_store: Path,
) -> None:
    ids = make_runs()
    cookies, xsrf = await login_cookies(
        http_server_client, jp_base_url, jp_serverapp.identity_provider.token
    )
    walk = samples(ids)
    for sample in walk:
        if not sample.writes:
            response = await send(http_server_client, jp_base_url, sample, {"Cookie": cookies})
            assert response.code == sample.status, (sample, response.body[:300])
    before = store_files(isolated_store)
    for sample in walk:
        if sample.writes:
            response = await send(http_server_client, jp_base_url, sample, {"Cookie": cookies})
            assert_refused(response, f"cookie write without XSRF: {sample}")
    assert store_files(isolated_store) == before
    for sample in walk:
        if sample.writes:
            response = await send(
                http_server_client,
                jp_base_url,
                sample,
                {"Cookie": cookies, "X-XSRFToken": xsrf},
            )
            assert response.code == sample.status, (sample, response.body[:300])
    listed = [r["run_id"] for r in (await get(jp_fetch, "runs"))["runs"]]
    assert listed == [ids[0]]  # the DELETE sample went through


@pytest.mark.parametrize("authorizer_class", [ReadOnlyAuthorizer])
async def test_read_only_user_reads_everything_and_writes_nothing(
    jp_fetch: Any, isolated_store: Path
) -> None:
    ids = make_runs()
    walk = samples(ids)
    before = store_files(isolated_store)
    for sample in walk:
        response = await jp_fetch(
            "trackrun",
            "api",
            *sample.path.split("/"),
            method=sample.method.upper(),
            params=sample.params or None,
            body=None if sample.method in ("get", "delete") else json.dumps(sample.body),
            raise_error=False,
        )
        if sample.writes:
            assert_refused(response, f"read-only user wrote: {sample}")
        else:
            assert response.code == sample.status, (sample, response.body[:300])
    assert store_files(isolated_store) == before


def test_every_handler_method_is_authenticated_and_authorized() -> None:
    import inspect

    for path, handler in ROUTES:
        for method in methods(handler):
            function = handler.__dict__[method]
            assert hasattr(function, "__wrapped__"), (path, method)
            source = inspect.getsource(function)
            assert "@web.authenticated" in source and "@authorized" in source, (path, method)


def test_no_query_parameter_is_named_token() -> None:
    """Jupyter Server reads a `token` query parameter as the login token, before the
    Authorization header: a route taking one would refuse header-authenticated clients."""
    for path, entry in SPEC["paths"].items():
        for method, operation in entry.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "token" not in names, (method, path)


async def test_change_feed_long_poll_honours_since_with_header_auth(jp_fetch: Any) -> None:
    make_runs()
    now = (await get(jp_fetch, "changes", timeout=0))["change_token"]
    poll = asyncio.ensure_future(get(jp_fetch, "changes", since=now, timeout=20))
    # The poll must still be waiting: the store has not changed since `now`.
    done, _ = await asyncio.wait([poll], timeout=1.0)
    assert not done, "the long poll answered at once for an unchanged store"
    with trackrun.start_run(name="new"):
        pass
    changed = (await poll)["change_token"]
    assert changed != now


def test_the_walk_covers_the_media_routes() -> None:
    # The walks above take every route of ROUTES; the media ones need a real image to answer
    # 200 (make_runs logs val/samples at step 4), so prove the samples reach them.
    ids = make_runs()
    walked = {s.route: s.path for s in samples(ids) if s.method == "get"}
    assert walked["runs/{run_id}/media"] == f"runs/{ids[0]}/media"
    png = walked["runs/{run_id}/media/{key}/{step}.png"]
    assert png == f"runs/{ids[0]}/media/val.samples/4.png"
    assert (trackrun.get_store().root / "runs" / ids[0] / png.split("/", 2)[2]).is_file()
