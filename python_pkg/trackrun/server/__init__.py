"""The trackrun Jupyter server extension: the REST API and the launcher of detached runs."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.ioloop import PeriodicCallback
from traitlets import Int, Unicode
from traitlets.config import Configurable

from trackrun.jobs import Drainer, store_max_parallel, visible_gpus
from trackrun.layout import StorePaths, default_store_root
from trackrun.server.handlers import ROUTES, route_pattern
from trackrun.server.manager import RunsManager
from trackrun.server.renames import listen_for_renames
from trackrun.store import Store


class TrackrunServer(Configurable):
    """Configuration of the trackrun server extension (``c.TrackrunServer.<name>``)."""

    store = Unicode(
        "",
        help="Run store folder (default: $TRACKRUN_HOME, else .trackrun/ at the git root of "
        "the server's root_dir, else in root_dir).",
    ).tag(config=True)
    max_parallel = Int(
        0,
        help="Detached runs started at once; more wait as queued (0: $TRACKRUN_MAX_PARALLEL, "
        "else the project config's max_parallel, else the CPU cores). Runs launched with "
        "--gpu auto also wait for a free GPU: one run per visible GPU.",
    ).tag(config=True)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "trackrun.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the REST handlers and start the launcher for the server's store."""
    config = TrackrunServer(config=serverapp.config)
    from pathlib import Path

    root = Path(config.store).expanduser().resolve() if config.store else None
    if root is None:
        root = default_store_root(Path(os.path.expanduser(serverapp.root_dir)))
    gpus = visible_gpus()
    max_parallel = config.max_parallel or store_max_parallel(root)
    # A short lease: kernels and the CLI share the index with this long-lived process.
    store = Store(root, lease=0.2)
    launcher = Drainer(StorePaths(root), max_parallel, gpus)
    launcher.start()
    web_app = serverapp.web_app
    pool = ThreadPoolExecutor(1, thread_name_prefix="trackrun-store")
    web_app.settings.update(
        trackrun_manager=RunsManager(store),
        trackrun_launcher=launcher,
        trackrun_pool=pool,
        trackrun_slow_pool=ThreadPoolExecutor(2, thread_name_prefix="trackrun-slow"),
    )
    if not listen_for_renames(serverapp, store, pool):
        serverapp.log.info("trackrun: runs will not follow renamed notebooks (no contents events)")
    base = url_path_join(web_app.settings["base_url"], "trackrun", "api")
    web_app.add_handlers(
        ".*$", [(url_path_join(base, route_pattern(path)), handler) for path, handler in ROUTES]
    )
    ticker = PeriodicCallback(launcher.tick, 200)
    ticker.start()
    web_app.settings["trackrun_ticker"] = ticker
    serverapp.log.info(
        "trackrun: serving /trackrun/api for the store %s (at most %d detached runs at once)",
        root,
        max_parallel,
    )


def _unload_jupyter_server_extension(serverapp: Any) -> None:
    """Stop launching; supervisors keep running and the next server adopts them."""
    settings = serverapp.web_app.settings
    if "trackrun_ticker" in settings:
        settings["trackrun_ticker"].stop()
        settings["trackrun_launcher"].stop()


# Older jupyter_server versions look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
