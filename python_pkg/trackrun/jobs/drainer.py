"""The queue drainer of a store: starts queued runs within slots and GPUs, adopts survivors.

Exactly one drainer serves a store at a time: the one holding the store's drainer lock
(``jobs/slots.py``); it registers in ``<store>/drainer.json`` with a heartbeat so submitters
can hand it runs (``jobs.queue.hand_over``). The Jupyter server's launch service drives one
with its tick; without a server, the on-demand queue runner (``jobs/queue_runner.py``) does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

from trackrun import liveness
from trackrun.ids import is_run_id
from trackrun.jobs import slots
from trackrun.jobs.backends import Handle
from trackrun.jobs.backends.local import LocalBackend
from trackrun.jobs.queue import ACCEPTED, claim, drainer_file, queue_dir
from trackrun.jobs.spawn import spawn_supervisor
from trackrun.layout import StorePaths, read_json_object, write_json_atomic
from trackrun.run_process import process_identity

log = logging.getLogger("trackrun.jobs")


class Drainer:
    """Starts a store's queued runs while fewer than ``max_parallel`` of its runs are running.

    ``tick()`` (call it a few times a second) refreshes the registration heartbeat, accepts
    new queue entries, reaps ended supervisors and starts the oldest accepted runs. Runs
    already running at ``start()`` (started by a previous drainer or a kernel) are adopted:
    they count against the limit until they end. ``gpus`` are handed out one per
    ``--gpu auto`` run; such runs wait, in order, for a free one.
    """

    def __init__(
        self,
        store: StorePaths,
        max_parallel: int,
        gpus: list[str] | None = None,
        backend_name: str = "server",
    ) -> None:
        self.store = store
        self.backend_name = backend_name
        self._lock: int | None = None
        #: Run id -> the slot group (sweep) it counts against, for running runs.
        self._group_of: dict[str, str] = {}
        self.max_parallel = max(1, max_parallel)
        self.gpus = list(gpus or [])
        self._gpu_of: dict[str, list[str]] = {}
        self.started_at = time.time()
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._adopted: dict[str, tuple[int, str | None]] = {}
        self._last_heartbeat = 0.0

    def start(self) -> bool:
        """Take the store's drainer lock, register and adopt the detached runs still running.

        Returns False when another drainer holds the lock; ``tick()`` then tries again and
        does nothing until this drainer holds it.
        """
        self.store.ensure()
        queue_dir(self.store.root).mkdir(exist_ok=True, mode=0o700)
        # A launcher probing the lock holds it for a moment: try for a little while.
        deadline = time.monotonic() + 0.5
        while not self._take_lock():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    @property
    def holds_lock(self) -> bool:
        return self._lock is not None

    def _take_lock(self) -> bool:
        if self._lock is not None:
            return True
        self._lock = slots.try_lock(self.store.root)
        if self._lock is None:
            return False
        self._register()
        for handle in LocalBackend(self.store).adopt():
            if handle.run_id in self._children:
                continue
            pid = int(handle.ident["pid"])
            self._adopted[handle.run_id] = (pid, handle.ident.get("proc_start"))
            self._note_group(handle.run_id)
            assigned = _assigned_gpus(pid)
            if assigned:
                self._gpu_of[handle.run_id] = assigned
        if self._adopted:
            log.info("trackrun: adopted running runs %s", ", ".join(sorted(self._adopted)))
        return True

    def stop(self) -> None:
        """Unregister and let go of the lock (supervisors keep running; the next drainer
        adopts them)."""
        info = read_json_object(drainer_file(self.store.root))
        if info.get("pid") == os.getpid():
            drainer_file(self.store.root).unlink(missing_ok=True)
        if self._lock is not None:
            slots.release(self._lock)
            self._lock = None

    def pending(self) -> list[str]:
        """Ids of the runs waiting in the store's queue (accepted or not)."""
        try:
            names = os.listdir(queue_dir(self.store.root))
        except FileNotFoundError:
            return []
        return sorted(
            {n.removesuffix(ACCEPTED) for n in names if is_run_id(n.removesuffix(ACCEPTED))}
        )

    def running(self) -> list[str]:
        """Ids of runs this drainer started or adopted that are still running."""
        return sorted([*self._children, *self._adopted])

    def tick(self) -> None:
        """One round: heartbeat, accept, reap, start what fits (only while holding the lock)."""
        if not self._take_lock():
            return
        if time.time() - self._last_heartbeat > 2.0:
            self._register()
        # Imported here: it asks SLURM, so processes that never drain never load it.
        from trackrun.jobs.reconciler import reconcile_in_background

        reconcile_in_background(self.store)
        self._reap()
        folder = queue_dir(self.store.root)
        try:
            entries = sorted(os.listdir(folder))
        except FileNotFoundError:
            return
        for name in entries:
            if not name.endswith(ACCEPTED) and is_run_id(name):
                try:
                    os.rename(folder / name, folder / f"{name}{ACCEPTED}")
                except FileNotFoundError:
                    continue  # the submitter withdrew it and starts it itself
        for name in _oldest_first(folder, [n for n in os.listdir(folder) if n.endswith(ACCEPTED)]):
            if len(self._children) + len(self._adopted) >= self.max_parallel:
                break
            run_id = name.removesuffix(ACCEPTED)
            run_dir = self.store.runs / run_id
            spec = read_json_object(run_dir / "job" / "spec.json")
            group, limit = slots.slot_group(spec)
            if group and limit and sum(g == group for g in self._group_of.values()) >= limit:
                continue  # this sweep's --parallel is full; other runs may still start
            gpus: list[str] = []
            if spec.get("gpu") == "auto":
                held = [g for assigned in self._gpu_of.values() for g in assigned]
                free = [g for g in self.gpus if g not in held]
                if self.gpus and not free:
                    break  # in order: wait for a GPU rather than let later runs overtake
                gpus = free[:1]
            if is_run_id(run_id) and spec and slots.orphaned_claim(run_dir):
                slots.reclaim(run_dir)  # its drainer died between claiming and starting it
            if is_run_id(run_id) and spec and claim(run_dir):
                if group:
                    self._group_of[run_id] = group
                self._launch(run_id, run_dir, gpus)
            (folder / name).unlink(missing_ok=True)

    def enqueue(self, run_id: str) -> None:
        """Queue a run created by the drainer's own process (a rerun): accepted at once."""
        (queue_dir(self.store.root) / f"{run_id}{ACCEPTED}").touch()

    # -- internals ------------------------------------------------------------------------
    def _register(self) -> None:
        record = {
            **process_identity(),
            "started_at": self.started_at,
            "heartbeat_at": time.time(),
            "max_parallel": self.max_parallel,
        }
        write_json_atomic(drainer_file(self.store.root), record)
        self._last_heartbeat = time.time()

    def _launch(self, run_id: str, run_dir: Path, gpus: list[str]) -> None:
        extra = {"TRACKRUN_ASSIGNED_GPUS": ",".join(gpus)} if gpus else {}
        if gpus:
            self._gpu_of[run_id] = gpus
        process = spawn_supervisor(run_dir, extra_env=extra)
        Handle(
            self.backend_name,
            run_id,
            {
                "pid": process.pid,
                "proc_start": liveness.process_start_time(process.pid),
                "host": liveness.hostname(),
            },
        ).save(self.store.run(run_id))
        self._children[run_id] = process
        log.info("trackrun: started run %s (supervisor pid %s)", run_id, process.pid)

    def _reap(self) -> None:
        for run_id, process in list(self._children.items()):
            if process.poll() is not None:
                del self._children[run_id]
                self._gpu_of.pop(run_id, None)
                self._group_of.pop(run_id, None)
        for run_id, (pid, token) in list(self._adopted.items()):
            if not liveness.is_alive(pid, token):
                del self._adopted[run_id]
                self._gpu_of.pop(run_id, None)
                self._group_of.pop(run_id, None)

    def _note_group(self, run_id: str) -> None:
        group, _ = slots.slot_group(
            read_json_object(self.store.runs / run_id / "job" / "spec.json")
        )
        if group:
            self._group_of[run_id] = group


def _oldest_first(folder: Path, names: list[str]) -> list[str]:
    """Queue entries in the order they were queued (a sweep's points in point order; run ids
    made in the same second do not sort by time)."""

    def queued_at(name: str) -> tuple[int, str]:
        try:
            return (os.stat(folder / name).st_mtime_ns, name)
        except FileNotFoundError:
            return (0, name)

    return sorted(names, key=queued_at)


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
