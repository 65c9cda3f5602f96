"""Handlers of the store as a whole: the server's status, the run list and its change feed,
the keys the filter box completes, and comparisons of several runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class StatusHandler(TrackrunHandler):
    operations = {
        "get": s.Operation("The server extension and its launcher", s.StatusInfo, errors=())
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        counts = await self.call(self.manager.running_counts)
        from trackrun import __version__

        answer: s.StatusInfo = {
            "version": __version__,
            "store": str(self.manager.store.root),
            "running": counts["running"],
            "queued": counts["queued"],
            "launcher": {
                "pid": os.getpid(),
                "started_at": self.launcher.started_at,
                "max_parallel": self.launcher.max_parallel,
                "running": self.launcher.running(),
            },
        }
        self.reply(answer)


class RunsHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "A window of the run list, filtered and sorted (ETag: If-None-Match answers 304)",
            s.RunsPage,
            query=s.RunsQuery,
            errors=(400,),
            not_modified=True,
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query()
        token = await self.call(self.manager.change_token)
        etag = '"' + hashlib.sha1(f"{token}?{self.request.query}".encode()).hexdigest() + '"'
        if self.request.headers.get("If-None-Match") == etag:
            self.set_status(304)
            self.finish()
            return
        answer = await self.call(
            self.manager.list_runs,
            query.get("filter"),
            query.get("order_by"),
            query.get("limit"),
            query.get("offset", 0),
            token,
            query.get("group_sweeps", False),
            query.get("expand"),
        )
        self.set_header("ETag", etag)
        self.reply(answer)


class ChangesHandler(TrackrunHandler):
    """Long poll: answers what changed as soon as the store's token differs from ``since``."""

    operations = {
        "get": s.Operation(
            "Long poll: the runs changed and deleted since the token `since`, once there are"
            " any (else at `timeout` s, <= 30); with `filter`, which of them match it",
            s.Changes,
            query=s.ChangesQuery,
            errors=(400,),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # Never a parameter named `token`: Jupyter Server reads that as the login token.
        query = self.query()
        known = query.get("since", "")
        timeout = min(max(query.get("timeout", 25), 0), 30)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            token = await self.call(self.manager.change_token)
            if token != known or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.5)
        self.reply(await self.call(self.manager.changes, known, token, query.get("filter")))


class KeysHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "Params and metric keys and tags in the store (for the filter box's completion)",
            s.FilterKeys,
            errors=(),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(self.manager.filter_keys))


class CompareHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "Compare runs (2+ ids): params, summaries, chart, code and package diffs",
            s.Comparison,
            query=s.CompareQuery,
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        ids = self.query().get("ids") or []
        self.reply(await self.call(self.manager.compare, ids, slow=True))
