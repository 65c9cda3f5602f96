"""Handlers of the job behind a run: killing it, and queueing a rerun with params overridden."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class KillHandler(TrackrunHandler):
    operations = {
        "post": s.Operation(
            "Kill a queued or running run; answers once it is recorded killed",
            s.Killed,
            errors=(400, 404, 409),
        )
    }

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.kill, run_id, slow=True))


class RerunHandler(TrackrunHandler):
    operations = {
        "post": s.Operation(
            "Queue a new detached run of the same frozen job, with params overridden",
            s.Rerun,
            body=s.RerunRequest,
            status=201,
            errors=(400, 404, 409),
        )
    }

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        params = self.body().get("params") or {}
        target = await self.call(self.manager.rerun, run_id, params)
        self.launcher.enqueue(target.run_id)
        answer: s.Rerun = {"run_id": target.run_id}
        self.reply(answer, status=201)
