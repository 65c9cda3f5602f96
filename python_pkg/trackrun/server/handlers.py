"""REST handlers under /trackrun/api/: thin, authenticated (see base.py); logic is in manager.

Each handler declares its ``operations`` (schemas.Operation per HTTP method): the query and
body it reads and the model it answers. openapi.py publishes exactly these.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from trackrun.server import media
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


#: (path relative to /trackrun/api/, handler): every route of the extension. Placeholders
#: are the path parameters of schemas.PATH_PARAMETERS.
ROUTES: list[tuple[str, type[TrackrunHandler]]] = [
    ("status", StatusHandler),
    ("changes", ChangesHandler),
    ("runs", RunsHandler),
    ("runs/{run_id}", RunHandler),
    ("runs/{run_id}/metrics", MetricsHandler),
    ("runs/{run_id}/chart", ChartHandler),
    ("runs/{run_id}/log", LogHandler),
    ("runs/{run_id}/media", MediaListHandler),
    ("runs/{run_id}/media/{key}/{step}.png", MediaFileHandler),
    ("runs/{run_id}/{folder}/{name}", RunFileHandler),
    ("compare", CompareHandler),
    ("runs/{run_id}/kill", KillHandler),
    ("runs/{run_id}/rerun", RerunHandler),
    ("runs/{run_id}/tags", TagsHandler),
    ("keys", KeysHandler),
    ("trash", TrashHandler),
    ("trash/{run_id}", TrashedRunHandler),
    ("trash/{run_id}/restore", RestoreHandler),
]


def route_pattern(path: str) -> str:
    """The tornado regex of a route: each placeholder becomes a named group (digits for an
    integer one), and the text between them (such as ``.png``) is matched literally."""
    pieces = []
    for piece in re.split(r"(\{\w+\})", path):
        if not (piece.startswith("{") and piece.endswith("}")):
            pieces.append(re.escape(piece))
            continue
        name = piece[1:-1]
        schema = s.PATH_PARAMETERS[name]
        values = schema.get("enum")
        pattern = "[0-9]+" if schema["type"] == "integer" else "[^/]+"
        pieces.append(f"(?P<{name}>{'|'.join(values) if values else pattern})")
    return "".join(pieces)
