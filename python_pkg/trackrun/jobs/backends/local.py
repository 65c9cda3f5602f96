"""The local backend: this process spawns the run's supervisor on this machine (setsid)."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from trackrun import liveness
from trackrun.errors import RunStateError
from trackrun.events import iter_events
from trackrun.ids import is_run_id
from trackrun.jobs import processes
from trackrun.jobs.backends import Handle, JobState
from trackrun.jobs.queue import claim, withdraw
from trackrun.jobs.spawn import spawn_supervisor
from trackrun.layout import TERMINAL_STATUSES, RunPaths, StorePaths

#: Backends whose runs' supervisors this machine starts (the server backend hands runs to
#: the Jupyter server's drainer, which starts them as local runs).
_THIS_HOST = frozenset({"local", "server"})
#: Seconds a job gets to exit after SIGTERM before it is SIGKILLed.
KILL_GRACE = float(os.environ.get("TRACKRUN_KILL_GRACE", "10"))


@dataclass
class SupervisorRecord:
    """What a run's supervisor wrote about itself and the job processes it started."""

    status: str | None = None
    supervisor: processes.Proc | None = None
    host: str | None = None
    #: Job processes (attempt leaders and every descendant seen), oldest first.
    job: tuple[processes.Proc, ...] = ()

    @classmethod
    def read(cls, run: RunPaths) -> SupervisorRecord:
        """Read ``events.supervisor.jsonl`` of ``run`` (empty record when absent)."""
        record = cls()
        job: list[processes.Proc] = []
        for event in iter_events(run.events_of("supervisor")):
            kind = event.get("type")
            if kind == "status":
                record.status = event.get("status")
                if event.get("pid"):
                    record.supervisor = processes.Proc(int(event["pid"]), event.get("proc_start"))
                    record.host = event.get("host")
            elif (
                kind == "attempt"
                and event.get("state") == "started"
                and event.get("pid")
                or kind == "process"
                and event.get("pid")
            ):
                job.append(processes.Proc(int(event["pid"]), event.get("proc_start")))
        record.job = tuple(job)
        return record

    def supervisor_alive(self) -> bool:
        """True while the supervisor runs on this host (pid and start token checked)."""
        if self.supervisor is None or (self.host and self.host != liveness.hostname()):
            return False
        return self.supervisor.alive()


class LocalBackend:
    """Spawns supervisors on this machine; liveness by pid and process start time."""

    name: ClassVar[str] = "local"

    def __init__(self, store: StorePaths) -> None:
        self.store = store

    def submit(self, run: RunPaths) -> Handle:
        """Claim the queued run and spawn its supervisor; return the handle (saved).

        When someone else claimed the run first, nothing is spawned and the handle names
        no process (the claimer's supervisor will record itself in the run's events).
        """
        handle = Handle(self.name, run.run_id)
        if claim(run.root):
            process = spawn_supervisor(run.root)
            handle.ident = {
                "pid": process.pid,
                "proc_start": liveness.process_start_time(process.pid),
                "host": liveness.hostname(),
            }
            handle.save(run)
        return handle

    def submit_many(self, runs: Sequence[RunPaths], parallel: int | None = None) -> list[Handle]:
        """Submit each run (no cap of its own: the queue drainer applies slots)."""
        return [self.submit(run) for run in runs]

    def state(self, handle: Handle) -> JobState:
        """From the supervisor's own record, checked against the process table."""
        record = SupervisorRecord.read(self.store.run(handle.run_id))
        if record.status in TERMINAL_STATUSES:
            return JobState("ended", record.status)
        if record.supervisor_alive():
            return JobState(
                "running", f"supervisor pid {record.supervisor and record.supervisor.pid}"
            )
        pid = handle.ident.get("pid")
        if pid and liveness.is_alive(int(pid), handle.ident.get("proc_start")):
            return JobState("queued", "starting")
        if record.supervisor is None and not handle.ident:
            return JobState("queued", "waiting for a slot")
        return JobState("gone", "the supervisor process is gone")

    def cancel(self, handle: Handle) -> bool:
        """Stop the job: a run nobody started yet is claimed (so it never starts); a live
        supervisor gets SIGTERM (it stops the job's whole tree and records ``killed``); with
        no live supervisor, the job processes it recorded are stopped (start tokens checked,
        so a reused pid is never signalled)."""
        run = self.store.run(handle.run_id)
        if claim(run.root):  # never started: claiming it means nobody ever will
            withdraw(self.store.root, run.run_id)
            return False
        record = SupervisorRecord.read(run)
        if record.host and record.host != liveness.hostname():
            raise RunStateError(
                f"run {handle.run_id} is supervised on host {record.host}; "
                "run `trackrun kill` there to stop it"
            )
        if record.supervisor_alive() and record.supervisor is not None:
            return processes.signal_procs([record.supervisor], signal.SIGTERM) > 0
        leaders = [p for p in record.job if p.alive()]
        for leader in leaders:
            processes.signal_group(leader, signal.SIGTERM)
        tree = [d for p in leaders for d in processes.descendants(p.pid)]
        processes.terminate([*leaders, *tree, *record.job], KILL_GRACE)
        return bool(leaders)

    def adopt(self) -> list[Handle]:
        """Handles of detached runs in the store whose supervisor still runs on this host,
        leaving out runs a scheduler owns (SLURM may run a job on this very host: it is no
        local run, and takes no local slot or GPU)."""
        try:
            names = os.listdir(self.store.runs)
        except FileNotFoundError:
            return []
        handles = []
        for run_id in sorted(names):
            if not is_run_id(run_id):
                continue
            run = self.store.run(run_id)
            if not run.events_of("supervisor").exists():
                continue
            handle = Handle.load(run)
            if handle is not None and handle.backend not in _THIS_HOST:
                continue
            record = SupervisorRecord.read(run)
            if record.status == "running" and record.supervisor_alive() and record.supervisor:
                handles.append(
                    Handle(
                        self.name,
                        run_id,
                        {
                            "pid": record.supervisor.pid,
                            "proc_start": record.supervisor.start,
                            "host": record.host,
                        },
                    )
                )
        return handles


BACKEND = LocalBackend
