"""The server's launcher: registers in the store, starts queued runs within a parallel limit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trackrun import liveness
from trackrun.capture import scrub_environ_for_child
from trackrun.events import iter_events
from trackrun.ids import is_run_id
from trackrun.launcher import claim, launcher_file, queue_dir
from trackrun.layout import StorePaths, open_private, write_json_atomic
from trackrun.run import process_identity

log = logging.getLogger("trackrun.server")


def visible_gpus() -> list[str]:
    """GPU ids this server may hand out: ``CUDA_VISIBLE_DEVICES`` if set, else those
    ``nvidia-smi -L`` lists (none without an NVIDIA driver)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]


def default_max_parallel(gpus: list[str]) -> int:
    """One run per visible GPU, else half the CPU cores (at least one)."""
    return len(gpus) if gpus else max(1, (os.cpu_count() or 2) // 2)


class LaunchService:
    """Owns launching for one store while the server runs.

    ``tick()`` (called a few times a second) refreshes the registration heartbeat, accepts
    new queue entries, reaps finished supervisors and starts the oldest accepted runs
    while fewer than ``max_parallel`` run. Runs already running at start-up (started by a
    previous server or a kernel) are adopted: they count against the limit until they end.
    """

    def __init__(self, store: StorePaths, max_parallel: int, gpus: list[str] | None = None) -> None:
        self.store = store
        self.max_parallel = max(1, max_parallel)
        self.gpus = list(gpus or [])
        self._gpu_of: dict[str, list[str]] = {}
        self.started_at = time.time()
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._adopted: dict[str, tuple[int, str | None]] = {}
        self._last_heartbeat = 0.0

    def start(self) -> None:
        """Register in the store and adopt the detached runs that are still running."""
        self.store.ensure()
        queue_dir(self.store.root).mkdir(exist_ok=True, mode=0o700)
        self._register()
        self._adopt_running()

    def stop(self) -> None:
        """Unregister (supervisors keep running; the next server adopts them)."""
        info = _read_json(launcher_file(self.store.root))
        if info.get("pid") == os.getpid():
            launcher_file(self.store.root).unlink(missing_ok=True)

    def running(self) -> list[str]:
        """Ids of runs this launcher started or adopted that are still running."""
        return sorted([*self._children, *self._adopted])

    def tick(self) -> None:
        now = time.time()
        if now - self._last_heartbeat > 2.0:
            self._register()
        self._reap()
        folder = queue_dir(self.store.root)
        try:
            entries = sorted(os.listdir(folder))
        except FileNotFoundError:
            return
        for name in entries:
            if not name.endswith(".accepted") and is_run_id(name):
                try:
                    os.rename(folder / name, folder / f"{name}.accepted")
                except FileNotFoundError:
                    continue  # the kernel withdrew it and launches it itself
        for name in sorted(n for n in os.listdir(folder) if n.endswith(".accepted")):
            if len(self._children) + len(self._adopted) >= self.max_parallel:
                break
            run_id = name.removesuffix(".accepted")
            run_dir = self.store.runs / run_id
            spec = _read_json(run_dir / "job" / "spec.json")
            gpus: list[str] = []
            if spec.get("gpu") == "auto":
                free = [
                    g for g in self.gpus if not any(g in held for held in self._gpu_of.values())
                ]
                if self.gpus and not free:
                    break  # in order: wait for a GPU rather than let later runs overtake
                gpus = free[:1]
            if is_run_id(run_id) and spec and claim(run_dir):
                self._launch(run_id, run_dir, gpus)
            (folder / name).unlink(missing_ok=True)

    def enqueue(self, run_id: str) -> None:
        """Queue a run created by the server itself (a rerun): accepted at once."""
        (queue_dir(self.store.root) / f"{run_id}.accepted").touch()

    # -- internals ------------------------------------------------------------------------
    def _register(self) -> None:
        record = {
            **process_identity(),
            "started_at": self.started_at,
            "heartbeat_at": time.time(),
            "max_parallel": self.max_parallel,
        }
        write_json_atomic(launcher_file(self.store.root), record)
        self._last_heartbeat = time.time()

    def _launch(self, run_id: str, run_dir: Path, gpus: list[str]) -> None:
        env = scrub_environ_for_child(os.environ)
        if gpus:
            env["TRACKRUN_ASSIGNED_GPUS"] = ",".join(gpus)
            self._gpu_of[run_id] = gpus
        with open_private(run_dir / "supervisor.log") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "trackrun.supervisor", str(run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
                cwd=str(run_dir),
            )
        self._children[run_id] = process
        log.info("trackrun: started run %s (supervisor pid %s)", run_id, process.pid)

    def _reap(self) -> None:
        for run_id, process in list(self._children.items()):
            if process.poll() is not None:
                del self._children[run_id]
                self._gpu_of.pop(run_id, None)
        for run_id, (pid, token) in list(self._adopted.items()):
            if not liveness.is_alive(pid, token):
                del self._adopted[run_id]
                self._gpu_of.pop(run_id, None)

    def _adopt_running(self) -> None:
        try:
            names = os.listdir(self.store.runs)
        except FileNotFoundError:
            return
        for run_id in names:
            if not is_run_id(run_id):
                continue
            events = self.store.runs / run_id / "events.supervisor.jsonl"
            if not events.exists():
                continue
            status, pid, token = None, None, None
            for event in iter_events(events):
                if event.get("type") == "status":
                    status = event.get("status")
                    if event.get("pid"):
                        pid, token = int(event["pid"]), event.get("proc_start")
            if status == "running" and pid and liveness.is_alive(pid, token):
                self._adopted[run_id] = (pid, token)
                assigned = _assigned_gpus(pid)
                if assigned:
                    self._gpu_of[run_id] = assigned
        if self._adopted:
            log.info("trackrun: adopted running runs %s", ", ".join(sorted(self._adopted)))


def _assigned_gpus(pid: int) -> list[str]:
    """GPUs a running supervisor was given (from its environment), for adopted runs."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"TRACKRUN_ASSIGNED_GPUS="):
                    return item.split(b"=", 1)[1].decode().split(",")
    except OSError:
        pass
    return []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
