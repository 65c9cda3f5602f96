"""REST handlers under /trackrun/api/: thin, authenticated, one error shape; logic is in manager."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import mimetypes
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from trackrun.errors import (
    AmbiguousRunIdError,
    FilterError,
    InvalidRunIdError,
    RunNotFoundError,
    RunStateError,
    TrackrunError,
)
from trackrun.jobs import Drainer
from trackrun.server.manager import FileNotInRunError, RunsManager

log = logging.getLogger("trackrun.server")
T = TypeVar("T")

#: The authorization resource of every trackrun endpoint.
AUTH_RESOURCE = "trackrun"
_RUN = r"(?P<run_id>[^/]+)"
_STATUS_OF = (
    (FilterError, 400),
    (InvalidRunIdError, 400),
    (RunNotFoundError, 404),
    (FileNotInRunError, 404),
    (AmbiguousRunIdError, 409),
    (RunStateError, 409),
    (TrackrunError, 400),
    (TypeError, 400),
    (ValueError, 400),
)


class TrackrunHandler(APIHandler):
    """Base of every trackrun handler: store work in worker threads, errors as JSON."""

    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> RunsManager:
        manager: RunsManager = self.settings["trackrun_manager"]
        return manager

    @property
    def launcher(self) -> Drainer:
        service: Drainer = self.settings["trackrun_launcher"]
        return service

    async def call(self, function: Callable[..., T], *args: Any, slow: bool = False) -> T:
        """Run blocking store work off the event loop; map known errors to HTTP errors."""
        pool: ThreadPoolExecutor = self.settings["trackrun_slow_pool" if slow else "trackrun_pool"]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: function(*args))

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, allow_nan=False, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """One error shape, ``{message, code}``, never a traceback or a server path."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(exc, (TrackrunError, TypeError, ValueError)):
            status = next(code for kind, code in _STATUS_OF if isinstance(exc, kind))
            body = {"message": str(exc), "code": getattr(exc, "code", "invalid_request")}
            if isinstance(exc, FilterError):
                body.update(message=exc.reason, column=exc.column)
        elif isinstance(exc, web.HTTPError):
            status = exc.status_code
            body = {"message": exc.log_message or self._reason, "code": f"http_{status}"}
        else:
            status = status_code
            body = {
                "message": "internal error in the trackrun server extension (see the server log)",
                "code": "internal_error",
            }
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (TrackrunError, TypeError, ValueError, web.HTTPError)):
            return  # a user error, answered with its message
        super().log_exception(typ, value, tb)

    def int_argument(self, name: str, default: int | None) -> int | None:
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise TrackrunError(f"{name} must be an integer, not {raw!r}") from None

    def list_argument(self, name: str) -> list[str] | None:
        raw = self.get_argument(name, None)
        return [p.strip() for p in raw.split(",") if p.strip()] if raw else None

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise TrackrunError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise TrackrunError("the request body must be a JSON object")
        return body


class StatusHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        counts = await self.call(self.manager.running_counts)
        from trackrun import __version__

        self.reply(
            {
                "version": __version__,
                "store": str(self.manager.store.root),
                **counts,
                "launcher": {
                    "pid": __import__("os").getpid(),
                    "started_at": self.launcher.started_at,
                    "max_parallel": self.launcher.max_parallel,
                    "running": self.launcher.running(),
                },
            }
        )


class RunsHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        token = await self.call(self.manager.change_token)
        etag = '"' + hashlib.sha1(f"{token}?{self.request.query}".encode()).hexdigest() + '"'
        if self.request.headers.get("If-None-Match") == etag:
            self.set_status(304)
            self.finish()
            return
        answer = await self.call(
            self.manager.list_runs,
            self.get_argument("filter", None),
            self.get_argument("order_by", None),
            self.int_argument("limit", None),
            self.int_argument("offset", 0) or 0,
        )
        answer["change_token"] = token
        self.set_header("ETag", etag)
        self.reply(answer)


class ChangesHandler(TrackrunHandler):
    """Long poll: answers as soon as the store's change token differs from ``token``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        known = self.get_argument("token", "")
        timeout = min(max(self.int_argument("timeout", 25) or 0, 0), 30)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            token = await self.call(self.manager.change_token)
            if token != known or asyncio.get_running_loop().time() >= deadline:
                self.reply({"change_token": token})
                return
            await asyncio.sleep(0.5)


class RunHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.run_detail, run_id))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        force = self.get_argument("force", "false").lower() in ("1", "true", "yes")
        self.reply(await self.call(self.manager.delete, run_id, force))


class MetricsHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        max_points = self.int_argument("max_points", 2000) or 2000
        self.reply(
            await self.call(
                self.manager.metric_series, run_id, self.list_argument("keys"), max_points
            )
        )


class ChartHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        max_points = self.int_argument("max_points", 2000) or 2000
        self.reply(
            await self.call(
                self.manager.chart, [run_id], self.list_argument("keys"), max_points, slow=True
            )
        )


class LogHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        offset = self.int_argument("offset", 0) or 0
        max_bytes = self.int_argument("max_bytes", 65536) or 65536
        self.reply(await self.call(self.manager.log_slice, run_id, offset, max_bytes))


class RunFileHandler(TrackrunHandler):
    """``runs/{id}/code/{file}`` and ``runs/{id}/artifacts/{name}``: files of the run only."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str, folder: str, name: str) -> None:
        path = await self.call(self.manager.run_file, run_id, folder, name)
        if folder == "code":
            self.set_header("Content-Type", "text/plain; charset=utf-8")
        else:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.set_header("Content-Type", kind)
            self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
            self.set_header("X-Content-Type-Options", "nosniff")
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


class CompareHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        ids = self.list_argument("ids") or []
        self.reply(await self.call(self.manager.compare, ids, slow=True))


class KillHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.reply(await self.call(self.manager.kill, run_id, slow=True))


class RerunHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        params = self.json_body().get("params") or {}
        if not isinstance(params, dict):
            raise TrackrunError("params must be a JSON object of name: value")
        target = await self.call(self.manager.rerun, run_id, params)
        self.launcher.enqueue(target.run_id)
        self.reply({"run_id": target.run_id}, status=201)


class TagsHandler(TrackrunHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        body = self.json_body()
        add, remove = body.get("add") or [], body.get("remove") or []
        if not isinstance(add, list) or not isinstance(remove, list):
            raise TrackrunError("add and remove must be lists of tags")
        self.reply(await self.call(self.manager.set_tags, run_id, add, remove))


#: (path relative to /trackrun/api/, handler): every route of the extension.
ROUTES: list[tuple[str, type[TrackrunHandler]]] = [
    ("status", StatusHandler),
    ("changes", ChangesHandler),
    ("runs", RunsHandler),
    (f"runs/{_RUN}", RunHandler),
    (f"runs/{_RUN}/metrics", MetricsHandler),
    (f"runs/{_RUN}/chart", ChartHandler),
    (f"runs/{_RUN}/log", LogHandler),
    (rf"runs/{_RUN}/(?P<folder>code|artifacts)/(?P<name>[^/]+)", RunFileHandler),
    ("compare", CompareHandler),
    (f"runs/{_RUN}/kill", KillHandler),
    (f"runs/{_RUN}/rerun", RerunHandler),
    (f"runs/{_RUN}/tags", TagsHandler),
]
