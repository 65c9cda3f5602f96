"""Real kernels and a real Jupyter server for tests: start them, run code, read outputs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupyter_client


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a kernel: the test's, minus TRACKRUN_HOME (stores come from cwd)."""
    env = {k: v for k, v in os.environ.items() if k != "TRACKRUN_HOME"}
    env.update(extra or {})
    return env


def ipc_folder() -> Path:
    """A fresh short folder for a kernel's unix sockets (its ``ip`` with ``transport=ipc``).

    Over TCP, jupyter_client picks free ports and closes them before the kernel binds them;
    with tests, servers and jobs starting kernels in parallel (pytest-xdist), another process
    can take such a port first, and the kernel dies before replying to kernel_info. Socket
    files in a folder of their own cannot collide. The caller removes the folder once the
    kernel is shut down. Short, since a unix socket path holds at most ~107 bytes."""
    return Path(tempfile.mkdtemp(prefix="trk-k-"))


def ipc_kernel_manager() -> tuple[jupyter_client.KernelManager, Path]:
    """A kernel manager whose kernel talks over unix sockets in a fresh :func:`ipc_folder`."""
    folder = ipc_folder()
    manager = jupyter_client.KernelManager(
        kernel_name="python3", transport="ipc", ip=str(folder / "k")
    )
    return manager, folder


@dataclass
class Kernel:
    """A real IPython kernel driven through jupyter_client."""

    manager: jupyter_client.KernelManager
    client: jupyter_client.BlockingKernelClient
    folder: Path

    @classmethod
    def start(cls, cwd: Path, env: dict[str, str] | None = None) -> Kernel:
        """Start a kernel in ``cwd``; its stderr goes to a file, quoted if it dies at start.

        A kernel that dies before its first reply is started once more (a machine hiccup
        under parallel tests is not what a test checks); a second death fails the test with
        both stderrs. Either way the dead kernel's client and sockets are closed, so they
        cannot surface as unraisable warnings in a later test."""
        deaths: list[str] = []
        for attempt in (1, 2):
            manager, folder = ipc_kernel_manager()
            stderr_path = folder / "stderr.log"
            with open(stderr_path, "wb") as stderr:  # the kernel keeps its own copy of the fd
                manager.start_kernel(cwd=str(cwd), env=kernel_env(env), stderr=stderr)
            client = manager.client()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=60)
            except RuntimeError as error:
                client.stop_channels()
                manager.shutdown_kernel(now=True)
                deaths.append(f"attempt {attempt}: {error}\n{stderr_path.read_text()}")
                shutil.rmtree(folder, ignore_errors=True)
                print(f"kernel died at start, {deaths[-1]}", file=sys.stderr)
                continue
            return cls(manager, client, folder)
        raise AssertionError("the kernel died at start twice:\n" + "\n".join(deaths))

    def execute(self, code: str, cell_id: str | None = None) -> str:
        """Send an execute_request the way JupyterLab does (cell id in the metadata)."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.client.session.msg("execute_request", content, metadata=metadata)
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def run(
        self, code: str, timeout: float = 180, cell_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Execute ``code`` and return its iopub messages once the kernel is idle again."""
        msg_id = self.execute(code, cell_id)
        messages = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.client.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
        raise AssertionError(f"cell did not finish in {timeout}s: {code[:80]}")

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def stdout_of(messages: list[dict[str, Any]]) -> str:
    """The text the cell printed (stdout and stderr streams)."""
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def error_of(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cell's error message content, if it raised."""
    for m in messages:
        if m["msg_type"] == "error":
            return dict(m["content"])
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class JupyterServer:
    """A real ``jupyter server`` process (with trackrun's extension when installed)."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    root: Path
    log_path: Path

    @classmethod
    def start(
        cls, root: Path, env: dict[str, str] | None = None, extra_args: list[str] | None = None
    ) -> JupyterServer:
        port = free_port()
        token = secrets.token_hex(16)
        log_path = root.parent / f"jupyter-server-{port}.log"
        with open(log_path, "wb") as log:  # the server process keeps its own copy of the fd
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                    f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
                    f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
                    "--KernelManager.transport=ipc",  # see ipc_folder: no TCP port races
                    *(extra_args or []),
                ],
                stdout=log, stderr=subprocess.STDOUT, env=kernel_env(env), cwd=str(root),
            )  # fmt: skip
        server = cls(process, f"http://127.0.0.1:{port}", token, root, log_path)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                server.request("GET", "/api/status")
                return server
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(
                        f"jupyter server exited:\n{log_path.read_text()}"
                    ) from None
                time.sleep(0.2)
        raise AssertionError(f"jupyter server did not start:\n{log_path.read_text()}")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def start_kernel(self, path: str) -> str:
        """Start a kernel for the notebook ``path`` (relative to root) through a session."""
        session = self.request(
            "POST",
            "/api/sessions",
            {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}},
        )
        return str(session["kernel"]["id"])

    def run(self, kernel_id: str, code: str, timeout: float = 180) -> list[dict[str, Any]]:
        """Execute ``code`` in the kernel over its websocket, as JupyterLab does."""
        import websocket

        ws = websocket.create_connection(
            self.url.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels",
            header=[f"Authorization: token {self.token}"],
            timeout=timeout,
        )
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False},
            }))  # fmt: skip
            messages = []
            deadline = time.time() + timeout
            while time.time() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                messages.append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return messages
            raise AssertionError("cell did not finish")
        finally:
            ws.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
