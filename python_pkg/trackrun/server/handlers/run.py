"""Handlers of one run: its detail, renaming it and its note, moving it to the trash, its
metric series and chart, its output log, and its tags.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class RunHandler(TrackrunHandler):
    operations = {
        "get": s.Operation("One run in full", s.RunDetail),
        "patch": s.Operation(
            "Rename a run and/or set its note (an empty note clears it); answers the run",
            s.RunDetail,
            body=s.RunEditRequest,
            errors=(400, 404),
        ),
        "delete": s.Operation(
            "Move a run to the store's trash (force: also a queued or running one)",
            s.Deleted,
            query=s.DeleteQuery,
            errors=(400, 404, 409),
        ),
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.run_detail, run_id))

    @web.authenticated
    @authorized
    async def patch(self, run_id: str) -> None:
        body = self.body()
        self.reply(
            await self.call(self.manager.edit_run, run_id, body.get("name"), body.get("note"))
        )

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        force = bool(self.query().get("force", False))
        self.reply(await self.call(self.manager.delete, run_id, force))


class MetricsHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "Metric series, downsampled per key (min/max per step bucket and the last point)",
            s.MetricSeries,
            query=s.SeriesQuery,
        )
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        query = self.query()
        max_points = query.get("max_points") or 2000
        self.reply(
            await self.call(self.manager.metric_series, run_id, query.get("keys"), max_points)
        )


class ChartHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "The Vega-Lite spec of the run's metric curves", s.VegaLiteSpec, query=s.SeriesQuery
        )
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        query = self.query()
        max_points = query.get("max_points") or 2000
        self.reply(
            await self.call(self.manager.chart, [run_id], query.get("keys"), max_points, slow=True)
        )


class LogHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "The output log from byte `offset` (negative: from the end), cut at a character",
            s.LogChunk,
            query=s.LogQuery,
        )
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        query = self.query()
        offset = query.get("offset", 0)
        max_bytes = query.get("max_bytes") or 65536
        self.reply(await self.call(self.manager.log_slice, run_id, offset, max_bytes))


class TagsHandler(TrackrunHandler):
    operations = {
        "post": s.Operation("Add and remove tags", s.Tags, body=s.TagsRequest, errors=(400, 404))
    }

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = self.body()
        add, remove = body.get("add") or [], body.get("remove") or []
        self.reply(await self.call(self.manager.set_tags, run_id, add, remove))
