"""Browser tests of the JupyterLab panel: a real `jupyter lab` per session, Debian's Chromium.

Run with ``python -m pytest ui-tests -q``. Needs the chromium package (/usr/bin/chromium,
or $TRACKRUN_CHROMIUM) and the playwright Python package; skips when either is missing,
except in CI (CI=true), where that fails.
``TRACKRUN_SCREENSHOTS=docs/screenshots python -m pytest ui-tests -q`` also refreshes the
README's screenshots.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from pages import LabPage  # noqa: E402
from playwright.sync_api import expect  # noqa: E402 - the pages package needs playwright too

# The machine running these is shared and often busy: a server's first ingest or a kernel
# start can take longer than Playwright's 5 s default for a condition to come true.
expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("TRACKRUN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Where screenshots go: set TRACKRUN_SCREENSHOTS=docs/screenshots to refresh the README's
#: pictures; by default they go to the session's temporary folder (the tree stays clean).
SCREENSHOTS_ENV = "TRACKRUN_SCREENSHOTS"
VIEWPORT = {"width": 1440, "height": 900}

#: Helper module the test notebooks import: a tiny torch MLP on sklearn's digits, on CPU.
TRAIN_MODULE = '''
"""Tiny training loop for the UI tests: an MLP on sklearn's 8x8 digits, on CPU."""
import sys
import time

import torch
import trackrun
from sklearn.datasets import load_digits


def train(lr=0.05, epochs=5, hidden=32, seed=0, delay=0.0, progress=False):
    torch.manual_seed(seed)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    n = int(len(x) * 0.8)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    acc = 0.0
    for epoch in range(epochs):
        batches = range(0, n, 64)
        for b, i in enumerate(batches):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress and b % 5 == 0:
                done = (b + 1) / len(batches)
                sys.stdout.write(f"\\rbatch {b + 1}/{len(batches)} [{'#' * int(done * 20):20}]")
                sys.stdout.flush()
        with torch.no_grad():
            acc = (model(x[n:]).argmax(1) == y[n:]).float().mean().item()
        trackrun.log(loss=loss.item(), val_acc=acc, step=epoch)
        if progress:
            sys.stdout.write("\\n")
        print(f"epoch {epoch}: loss {loss.item():.3f} \\x1b[32mval_acc {acc:.3f}\\x1b[0m", flush=True)
        time.sleep(delay)
    return acc
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    """A running `jupyter lab` serving a project folder (a git repo with its store)."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    log_path: Path

    @property
    def store(self) -> Path:
        return self.root / ".trackrun"

    @classmethod
    def start(cls, root: Path, extra_args: list[str] | None = None, app: str = "lab") -> Lab:
        """Start JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) on ``root``."""
        port = free_port()
        token = secrets.token_hex(12)
        home = root.parent / f"home-{port}"
        env = {k: v for k, v in os.environ.items() if k != "TRACKRUN_HOME"}
        env.update(
            # Settings and workspaces of this test session only (theme, restored tabs).
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            TRACKRUN_FLUSH_INTERVAL="0.5",
            PYTHONUNBUFFERED="1",
        )
        # The server extension is enabled by the installed config in sys.prefix; the
        # empty JUPYTER_CONFIG_DIR above does not hide it.
        log_path = root.parent / f"jupyter-lab-{port}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - handed to the server process
        process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook",
                "--no-browser", "--allow-root",
                f"--port={port}", "--ip=127.0.0.1", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                *(["--LabApp.expose_app_in_browser=True", "--LabApp.news_url="] if app == "lab"
                  else ["--JupyterNotebookApp.expose_app_in_browser=True"]),
                *(extra_args or []),
            ],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(root), env=env,
            start_new_session=True,
        )  # fmt: skip
        log.close()  # the server holds its own copy of the descriptor
        lab = cls(process, f"http://127.0.0.1:{port}", token, root, log_path)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                lab.api("GET", "/api/status")
                return lab
            except (OSError, urllib.error.URLError):
                if process.poll() is not None:
                    raise AssertionError(f"jupyter lab exited:\n{log_path.read_text()}") from None
                time.sleep(0.3)
        raise AssertionError(f"jupyter lab did not start:\n{log_path.read_text()}")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server with the token (no browser): setup and teardown only."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def runs(self, filter_text: str = "") -> list[dict[str, Any]]:
        query = "?limit=10000" + (
            "&filter=" + urllib.request.quote(filter_text) if filter_text else ""
        )
        return list(self.api("GET", "/trackrun/api/runs" + query)["runs"])

    def write_notebook(
        self, name: str, cells: list[str], outputs: dict[int, list[Any]] | None = None
    ) -> str:
        """Write a notebook of code cells into the project; returns its path (relative).
        ``outputs`` gives saved outputs by cell index (as a kernel would have left them)."""
        notebook = {
            "cells": [
                {"cell_type": "code", "execution_count": None, "id": f"cell-{i}",
                 "metadata": {}, "outputs": (outputs or {}).get(i, []), "source": source}
                for i, source in enumerate(cells)
            ],
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }  # fmt: skip
        (self.root / name).write_text(json.dumps(notebook, indent=1))
        return name

    def stop(self) -> None:
        # Runs still going (a failed test) must not outlive the session.
        try:
            for run in self.runs("status in (running, queued)"):
                self.api("POST", f"/trackrun/api/runs/{run['run_id']}/kill")
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def make_project(root: Path) -> Path:
    """A git repository with the training helper: its store is ``.trackrun/`` inside."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "train_digits.py").write_text(TRAIN_MODULE)
    return root


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        # In CI a missing browser is a broken setup, never a reason to pass quietly.
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any) -> Iterator[Lab]:
    """One `jupyter lab` for the session's stories, with an empty store to start."""
    root = make_project(tmp_path_factory.mktemp("lab") / "project")
    server = Lab.start(root)
    yield server
    server.stop()


def open_page(browser: Any, server: Lab, fake_clock: bool = False) -> tuple[Any, LabPage]:
    """A fresh browser context logged in to ``server``, JupyterLab loaded. ``fake_clock``
    installs Playwright's clock first (time flows, and tests can fast-forward timers)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    if fake_clock:
        page.clock.install()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    lab_page = LabPage(page, server.url, server.token, errors)
    lab_page.login()
    return context, lab_page


@pytest.fixture
def ui(playwright_browser: Any, lab: Lab) -> Iterator[LabPage]:
    """A logged-in JupyterLab page on the session's server."""
    context, page = open_page(playwright_browser, lab)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen).resolve() if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pytest_report_header() -> list[str]:
    chromium = shutil.which(CHROMIUM) or CHROMIUM
    return [f"ui-tests: chromium {chromium}"]
