"""bench_scale.py's REST measures through a real ``jupyter server`` with the trackrun
extension: windows of the run list (plain, sorted, filtered), polls of an unchanged store,
the server's memory, and a long metric downsampled end to end.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from children import child_env
from figures import load

ORDER = "metrics.acc desc"
FILTER = "params.lr < 0.001"
WINDOW = 100
WARM_REPEATS = 5


class Server:
    """A ``jupyter server`` subprocess with the trackrun extension on one store."""

    def __init__(self, store: Path, work: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.token = secrets.token_hex(12)
        self.base = f"http://127.0.0.1:{port}"
        home = work / f"home-{port}"
        env = child_env(None)
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_DATA_DIR=str(home / "data"),
        )
        self.log_path = work / f"server-{port}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                 f"--port={port}", "--ip=127.0.0.1", "--ServerApp.port_retries=0",
                 f"--ServerApp.root_dir={work}", f"--IdentityProvider.token={self.token}",
                 "--ServerApp.jpserver_extensions={'trackrun': True}",
                 f"--TrackrunServer.store={store}"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(work),
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log_path.read_text()[-2000:]}")
            try:  # Jupyter's own status: no trackrun code runs before the first timed call
                self.request("/api/status")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("jupyter server did not start in 120 s")

    def request(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[float, int, bytes, dict[str, str]]:
        """(ms, status, body, headers) of ``GET path``, timed to the last byte read (header
        names in lower case; a 304 answer is returned, any other error raised)."""
        req = urllib.request.Request(
            self.base + path, headers={"Authorization": f"token {self.token}", **(headers or {})}
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=600) as response:
                body = response.read()
                status, got = response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            body, status, got = error.read(), error.code, {}
            if status != 304:
                raise RuntimeError(f"GET {path}: {status} {body[:300]!r}") from None
        return (time.perf_counter() - started) * 1e3, status, body, got

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server process, in KiB."""
        out = {}
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    out[name] = int(value.split()[0])
        return out

    def cpu_ms(self) -> float:
        """User + system CPU time of the server process so far (all threads), in ms."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1e3 / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def runs_path(offset: int, order_by: str | None = None, filter_text: str | None = None) -> str:
    query: dict[str, Any] = {"limit": WINDOW, "offset": offset}
    if order_by:
        query["order_by"] = order_by
    if filter_text:
        query["filter"] = filter_text
    return "/trackrun/api/runs?" + urllib.parse.urlencode(query)


def first_and_warm(server: Server, path: str) -> tuple[float, float, bytes, dict[str, str]]:
    """The first request of ``path`` and the median of WARM_REPEATS repeats (ms)."""
    first, _, body, headers = server.request(path)
    warm = [server.request(path)[0] for _ in range(WARM_REPEATS)]
    return first, statistics.median(warm), body, headers


# -- 2 and 3. REST list windows and memory ---------------------------------------------------
def measure_rest_once(store: Path, count: int, work: Path) -> dict[str, Any]:
    """One fresh server: its first list window, then each window first and repeated."""
    server = Server(store, work)
    out: dict[str, Any] = {}
    try:
        out["rss_start_kib"] = server.memory_kib()["VmRSS"]
        windows = {
            "first_window": runs_path(0),
            "window_mid": runs_path(max(0, count // 2)),
            "window_end": runs_path(max(0, count - WINDOW)),
            "window_sorted": runs_path(0, ORDER),
            "window_sorted_mid": runs_path(max(0, count // 2), ORDER),
            "window_filtered": runs_path(0, None, FILTER),
        }
        for name, path in windows.items():
            cpu = server.cpu_ms()
            first, _, body, headers = server.request(path)
            out[f"{name}_first_cpu_ms"] = server.cpu_ms() - cpu
            warm = statistics.median(server.request(path)[0] for _ in range(WARM_REPEATS))
            page = json.loads(body)
            out[f"{name}_first_ms"], out[f"{name}_warm_ms"] = first, warm
            out[f"{name}_rows"], out[f"{name}_total"] = len(page["runs"]), page["total"]
            out[f"{name}_bytes"] = len(body)
            if name == "first_window":
                etag, token = headers.get("etag", ""), page["change_token"]
        # A poll of an unchanged store: the ETag answered 304, and the change feed.
        polls = [server.request(windows["first_window"], {"If-None-Match": etag}) for _ in range(7)]
        out["poll_304_ms"] = statistics.median(p[0] for p in polls)
        out["poll_304_status"] = polls[-1][1]
        feed = "/trackrun/api/changes?" + urllib.parse.urlencode({"since": token, "timeout": 0})
        first, warm, body, _ = first_and_warm(server, feed)
        answer = json.loads(body)
        out["changes_first_ms"], out["changes_warm_ms"] = first, warm
        out["changes_rows"] = len(answer["runs"]) + len(answer["deleted"])
        out["changes_same_token"] = answer["change_token"] == token and not answer["reset"]
        memory = server.memory_kib()
        out["rss_kib"], out["hwm_kib"] = memory["VmRSS"], memory["VmHWM"]
    finally:
        server.stop()
    return out


def measure_rest(store: Path, count: int, work: Path, repeats: int) -> dict[str, Any]:
    samples = [measure_rest_once(store, count, work) for _ in range(repeats)]
    out: dict[str, Any] = {"load": load()}
    for key, value in samples[0].items():
        if isinstance(value, bool):
            out[key] = all(s[key] for s in samples)
        elif isinstance(value, float | int):
            out[key] = statistics.median(s[key] for s in samples)
    out["first_window_first_all"] = [s["first_window_first_ms"] for s in samples]
    return out


# -- 4. chart fetch --------------------------------------------------------------------------
def measure_chart(store: Path, run_id: str, work: Path, repeats: int) -> dict[str, Any]:
    samples = []
    query = urllib.parse.urlencode({"keys": "loss", "max_points": 2000})
    for _ in range(repeats):
        server = Server(store, work)
        try:
            sample: dict[str, Any] = {}
            # The first trackrun request of the process pays for opening the index: time a
            # status call first so that the chart figures are the fetches themselves.
            sample["status_first_ms"] = server.request("/trackrun/api/status")[0]
            for name, route in (("metrics", "metrics"), ("chart", "chart")):
                path = f"/trackrun/api/runs/{run_id}/{route}?{query}"
                cpu = server.cpu_ms()
                first, _, body, _ = server.request(path)
                sample[f"{name}_first_cpu_ms"] = server.cpu_ms() - cpu
                warm = statistics.median(server.request(path)[0] for _ in range(WARM_REPEATS))
                sample[f"{name}_first_ms"], sample[f"{name}_warm_ms"] = first, warm
                sample[f"{name}_bytes"] = len(body)
                if name == "metrics":
                    sample["points_sent"] = len(json.loads(body)["series"]["loss"]["steps"])
            samples.append(sample)
        finally:
            server.stop()
    out: dict[str, Any] = {"load": load()}
    for key in samples[0]:
        out[key] = statistics.median(s[key] for s in samples)
    return out
