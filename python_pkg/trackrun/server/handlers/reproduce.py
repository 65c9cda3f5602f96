"""Handler of reproducing a run: start ``trackrun reproduce --run`` in the background; the
run's detail (GET runs/{run_id}) then reports it running, and its verdict or failure."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class ReproduceHandler(TrackrunHandler):
    operations = {
        "post": s.Operation(
            "Reproduce a run in the background (into <store>/reproductions/{run_id}/); its "
            "detail reports the progress and the verdict",
            s.ReproductionStarted,
            status=202,
            errors=(400, 404, 409),
        )
    }

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        # The checks read the run's record (a worker thread); the reproduction itself runs
        # in a thread of its own and a child process, never on the event loop.
        self.reply(await self.call(self.manager.reproductions.start, run_id), status=202)
