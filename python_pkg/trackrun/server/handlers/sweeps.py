"""Handlers of sweeps: the list with progress and best values, one sweep compared, killing one."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class SweepsHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "Every sweep: progress counts and the best value so far on its metric",
            s.SweepList,
            errors=(),
        )
    }

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(self.manager.sweeps.summaries))


class SweepHandler(TrackrunHandler):
    operations = {
        "get": s.Operation(
            "One sweep: its record, progress, seed groups (mean, sd, n) over the swept params,"
            " Welch's test of the best group against the runner-up, and one point per run",
            s.SweepDetail,
            query=s.SweepQuery,
        )
    }

    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        query = self.query()
        sweeps = self.manager.sweeps
        answer = await self.call(
            sweeps.detail, sweep_id, query.get("metric"), query.get("goal"), slow=True
        )
        self.reply(answer)


class SweepKillHandler(TrackrunHandler):
    operations = {
        "post": s.Operation(
            "Stop a sweep: cancel its queued runs, then kill its running ones",
            s.SweepKilled,
            errors=(400, 404),
        )
    }

    @web.authenticated
    @authorized
    async def post(self, sweep_id: str) -> None:
        self.reply(await self.call(self.manager.sweeps.kill, sweep_id, slow=True))
