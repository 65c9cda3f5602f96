"""Handlers of the store's trash: the runs in it, deleting one for good, restoring one."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class TrashHandler(TrackrunHandler):
    operations = {"get": s.Operation("The runs in the store's trash", s.TrashList, errors=())}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(self.manager.trash_list))


class TrashedRunHandler(TrackrunHandler):
    operations = {
        "delete": s.Operation(
            "Delete a run in the trash for good (its folder is removed)",
            s.Deleted,
            errors=(400, 404),
        )
    }

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.delete_forever, run_id))


class RestoreHandler(TrackrunHandler):
    operations = {
        "post": s.Operation(
            "Move a run back from the trash and index it (409: a run with that id exists)",
            s.Restored,
            errors=(400, 404, 409),
        )
    }

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.restore, run_id))
