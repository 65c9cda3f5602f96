"""Handlers of a run's files: its code, artifacts and checkpoints, and its images and figures."""

from __future__ import annotations

import mimetypes

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import media
from trackrun.server import schemas as s
from trackrun.server.base import TrackrunHandler


class RunFileHandler(TrackrunHandler):
    """``runs/{id}/{code|artifacts|checkpoints}/{name}``: regular files of the run only."""

    operations = {
        "get": s.Operation(
            "A file of the run: code as text, artifacts and checkpoints as downloads", None
        )
    }

    @web.authenticated
    @authorized
    async def get(self, run_id: str, folder: str, name: str) -> None:
        served = await self.call(self.manager.open_run_file, run_id, folder, name)
        with served:
            if folder == "code":
                self.set_header("Content-Type", "text/plain; charset=utf-8")
            else:
                self.set_header("Content-Type", served_type(name))
                self.set_header("Content-Disposition", f'attachment; filename="{name}"')
            self.set_header("X-Content-Type-Options", "nosniff")
            while chunk := served.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


#: Content types of compressed files: mimetypes names the inner type ("x.csv.gz" is
#: text/csv with gzip encoding), but the bytes served are the compressed ones.
COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}


def served_type(name: str) -> str:
    """The Content-Type of a run file named ``name``: by its extension, the compressed
    format for compressed files, else application/octet-stream."""
    kind, encoding = mimetypes.guess_type(name)
    if encoding is not None:
        return COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    return kind or "application/octet-stream"


class MediaListHandler(TrackrunHandler):
    operations = {"get": s.Operation("The run's images and figures, by key then step", s.MediaList)}

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(media.media_list, self.manager.store, run_id))


class MediaFileHandler(TrackrunHandler):
    """``runs/{id}/media/{key}/{step}.png``: one image, with the checks of RunFileHandler."""

    operations = {"get": s.Operation("One image of the run, as PNG", None, media_type="image/png")}

    @web.authenticated
    @authorized
    async def get(self, run_id: str, key: str, step: str) -> None:
        served = await self.call(media.open_media, self.manager.store, run_id, key, step)
        with served:
            self.set_header("Content-Type", "image/png")
            self.set_header("X-Content-Type-Options", "nosniff")
            while chunk := served.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()
