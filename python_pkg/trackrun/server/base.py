"""The base of every REST handler: authentication, the one error shape, running manager calls
off the event loop, JSON answers checked against their schema."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from trackrun.errors import (
    AmbiguousRunIdError,
    FilterError,
    InvalidRunIdError,
    RunNotFoundError,
    RunStateError,
    StoreError,
    TrackrunError,
)
from trackrun.jobs import Drainer
from trackrun.server import schemas as s
from trackrun.server.manager import RunsManager
from trackrun.server.requests import parse_body, parse_query
from trackrun.server.run_files import FileNotInRunError

T = TypeVar("T")

#: The authorization resource of every trackrun endpoint.
AUTH_RESOURCE = "trackrun"
#: Every error a handler may raise, mapped once to its HTTP status (first match wins).
_STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (FilterError, 400),
    (InvalidRunIdError, 400),
    (RunNotFoundError, 404),
    (FileNotInRunError, 404),
    (AmbiguousRunIdError, 409),
    (RunStateError, 409),
    # The index stayed locked or cannot be used: the request was fine, retry later.
    (StoreError, 503),
    (TrackrunError, 400),
    # The normalize_* validators refuse bad user values with these.
    (TypeError, 400),
    (ValueError, 400),
)


class TrackrunHandler(APIHandler):
    """Base of every trackrun handler: store work in worker threads, errors as JSON."""

    auth_resource = AUTH_RESOURCE
    operations: ClassVar[dict[str, s.Operation]] = {}

    @property
    def manager(self) -> RunsManager:
        manager: RunsManager = self.settings["trackrun_manager"]
        return manager

    @property
    def launcher(self) -> Drainer:
        service: Drainer = self.settings["trackrun_launcher"]
        return service

    async def call(self, function: Callable[..., T], *args: Any, slow: bool = False) -> T:
        """Run blocking store work off the event loop (errors propagate to write_error)."""
        pool: ThreadPoolExecutor = self.settings["trackrun_slow_pool" if slow else "trackrun_pool"]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: function(*args))

    def query(self) -> dict[str, Any]:
        """The query parameters this method's operation declares, typed (400 if malformed)."""
        model = self.operations[self.request.method.lower()].query
        return parse_query(model, lambda name: self.get_argument(name, None))

    def body(self) -> dict[str, Any]:
        """The JSON body checked against this method's operation (400 if malformed)."""
        model = self.operations[self.request.method.lower()].body
        return parse_body(model, self.request.body or b"")

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, allow_nan=False, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """One error shape, ``{message, code}``, never a traceback or a server path."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        status = next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), None)
        if status is not None:
            # Messages name files for the CLI's user; a browser is told "<store>" instead.
            message = str(exc).replace(str(self.manager.store.root), "<store>")
            body = {"message": message, "code": getattr(exc, "code", "invalid_request")}
            if isinstance(exc, FilterError):
                body.update(message=exc.reason, column=exc.column)
        elif isinstance(exc, web.HTTPError):
            status = exc.status_code
            body = {"message": exc.log_message or self._reason, "code": f"http_{status}"}
        else:
            status = status_code
            body = {
                "message": "internal error in the trackrun server extension (see the server log)"
                if status >= 500
                else self._reason,
                "code": "internal_error" if status >= 500 else f"http_{status}",
            }
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, web.HTTPError) or any(isinstance(value, k) for k, _ in _STATUS_OF):
            return  # a user error, answered with its message
        super().log_exception(typ, value, tb)
