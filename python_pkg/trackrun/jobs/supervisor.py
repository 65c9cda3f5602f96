"""The supervisor of a detached run: runs the job in a child process, retries it, reports.

``python -m trackrun.jobs.supervisor RUN_DIR``, started in its own session by a jobs backend
(locally, by the server's drainer, or by a SLURM batch script on a compute node). It writes
the run's status, attempts and the job's processes to ``events.supervisor.jsonl``; the job
writes metrics to ``events.jsonl`` and its stdout/stderr to ``output.log``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trackrun import liveness
from trackrun.event_writer import EventWriter
from trackrun.events import iter_events
from trackrun.jobs import processes
from trackrun.jobs.backends.local import KILL_GRACE
from trackrun.jobs.environment import job_environment
from trackrun.jobs.freeze import read_spec
from trackrun.layout import RunPaths, open_private
from trackrun.run_process import process_identity

_JOB_ENTRY = "from trackrun.jobs.runner import main; main()"
#: Seconds between two looks for new processes of the job.
TREE_SAMPLE_EVERY = 0.5


class Supervisor:
    """Runs the attempts of one detached run and records the outcome."""

    def __init__(self, run_dir: Path) -> None:
        self.paths = RunPaths(run_dir)
        self.spec = read_spec(self.paths)
        self.writer = EventWriter(self.paths.events_of("supervisor"))
        self.cancelled = False
        self.cancelled_at = 0.0
        self.child: subprocess.Popen[bytes] | None = None
        #: The job's processes this attempt: its leader, then every descendant seen.
        self.tree: dict[int, processes.Proc] = {}
        self._sampled_at = 0.0

    def run(self) -> int:
        """Run up to ``1 + retries`` attempts; returns 0 when the job finished."""
        signal.signal(signal.SIGTERM, self._on_cancel)
        signal.signal(signal.SIGINT, self._on_cancel)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # Orphans of the job (a daemon that double-forks) are reparented to us, not to init,
        # however fast they leave: they stay in the tree that is sampled and killed.
        processes.become_subreaper()
        self.writer.emit("status", status="running", **process_identity())
        self.writer.flush()
        attempts = 1 + int(self.spec.get("retries") or 0)
        status, error = "failed", None
        # A requeued or resubmitted SLURM job runs this again: go on from the attempts recorded.
        first = 1 + _attempts_started(self.paths)
        if first > attempts:
            error = f"the scheduler restarted the job more often than --retries {attempts - 1}"
        for attempt in range(first, attempts + 1):
            (self.paths.job / "error.txt").unlink(missing_ok=True)
            code = self._attempt(attempt)
            if self.cancelled and _stopped_by_scheduler(self.paths):
                # SLURM stopped it (requeue, preemption, time limit), not the user: the
                # requeued job goes on, or jobs.reconcile records SLURM's final state.
                self.writer.emit("status", status="queued", error="stopped by SLURM")
                self.writer.close()
                return 1
            if self.cancelled:
                status, error = "killed", "cancelled by the user (trackrun kill)"
                break
            if code == 0:
                status, error = "finished", None
                break
            error = self._failure_text(code)
            if attempt < attempts:
                self._log_line(
                    f"\ntrackrun: attempt {attempt} failed ({_exit_words(code)}); "
                    f"retrying (attempt {attempt + 1} of {attempts})\n"
                )
        fields: dict[str, Any] = {"status": status}
        if error:
            fields["error"] = error
        self.writer.emit("status", **fields)
        self.writer.close()
        return 0 if status == "finished" else 1

    def _attempt(self, attempt: int) -> int:
        env = job_environment(self.spec["env"], os.environ)  # secrets: from memory only
        env.update(
            PYTHONUNBUFFERED="1",
            TRACKRUN_RUN_DIR=str(self.paths.root),
            TRACKRUN_ATTEMPT=str(attempt),
        )
        if os.environ.get("TRACKRUN_BACKEND"):  # set by the SLURM batch script
            env["TRACKRUN_BACKEND"] = os.environ["TRACKRUN_BACKEND"]
        gpu = os.environ.get("TRACKRUN_ASSIGNED_GPUS") or self.spec.get("gpu")
        if gpu and gpu != "auto":
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        with open_private(self.paths.output_log) as log:
            self.child = subprocess.Popen(
                [self.spec["python"], "-c", _JOB_ENTRY, str(self.paths.root)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.spec["cwd"] if os.path.isdir(self.spec["cwd"]) else None,
                env=env,
                start_new_session=True,  # its own process group: cancel reaches its children
            )
        leader = processes.Proc(self.child.pid, liveness.process_start_time(self.child.pid))
        self.tree = {leader.pid: leader}
        self.writer.emit(
            "attempt", attempt=attempt, pid=leader.pid, proc_start=leader.start, state="started"
        )
        self.writer.flush()
        self._wait()
        # Whatever the job left behind (worker processes, daemons in their own session...)
        # goes with it. The leader is not reaped yet: its zombie keeps its pid, and so the
        # group id, from being reused, so its group is still the job's.
        self._sample_tree()
        _killpg(leader.pid, signal.SIGKILL)
        processes.signal_procs(list(self.tree.values()), signal.SIGKILL)
        code = self.child.wait()
        processes.reap_adopted(keep=0)
        self.writer.emit("attempt", attempt=attempt, state="ended", exit_code=code)
        self.writer.flush()
        return code

    def _wait(self) -> None:
        """Wait until the job child ends, sampling its tree; the child is left unreaped."""
        killed = False
        while not self._child_ended():
            time.sleep(0.1)
            if time.monotonic() - self._sampled_at > TREE_SAMPLE_EVERY:
                self._sample_tree()
            if self.cancelled and not killed and time.monotonic() - self.cancelled_at > KILL_GRACE:
                self._signal_tree(signal.SIGKILL)
                killed = True

    def _child_ended(self) -> bool:
        """True once the job child has ended, without reaping it (WNOWAIT)."""
        assert self.child is not None
        if self.child.returncode is not None:
            return True
        if not hasattr(os, "waitid"):
            return self.child.poll() is not None
        try:
            return (
                os.waitid(os.P_PID, self.child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                is not None
            )
        except ChildProcessError:
            return True

    def _sample_tree(self) -> None:
        """Record new processes of the job, whatever their session, as they appear.

        Everything below the supervisor is the job's: its child and what descends from it,
        and orphans it left (reparented to the supervisor, a subreaper). A process whose
        start time cannot be read is never recorded (it could not be signalled safely).
        Orphans that ended are reaped here.
        """
        self._sampled_at = time.monotonic()
        if self.child is None:
            return
        processes.reap_adopted(keep=self.child.pid)
        for proc in processes.descendants(os.getpid()):
            if proc.pid not in self.tree or self.tree[proc.pid].start != proc.start:
                self.tree[proc.pid] = proc
                self.writer.emit("process", pid=proc.pid, proc_start=proc.start)
        self.writer.flush()

    def _signal_tree(self, sig: int) -> None:
        if self.child is not None:
            _killpg(self.child.pid, sig)
        processes.signal_procs(list(self.tree.values()), sig)

    def _on_cancel(self, signum: int, frame: object) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        self.cancelled_at = time.monotonic()
        if self.child is not None and not self._child_ended():
            # A signal handler must not write events (the main loop may hold the writer):
            # signal the recorded tree plus whatever descends from the job right now.
            fresh = processes.descendants(os.getpid())
            self._signal_tree(signal.SIGTERM)
            processes.signal_procs(fresh, signal.SIGTERM)

    def _failure_text(self, code: int) -> str:
        try:
            return (self.paths.job / "error.txt").read_text(encoding="utf-8")
        except FileNotFoundError:
            return f"the job process ended with {_exit_words(code)}"

    def _log_line(self, text: str) -> None:
        with open_private(self.paths.output_log) as log:
            log.write(text.encode())


def _attempts_started(paths: RunPaths) -> int:
    events = iter_events(paths.events_of("supervisor"))
    return sum(1 for e in events if e.get("type") == "attempt" and e.get("state") == "started")


def _stopped_by_scheduler(paths: RunPaths) -> bool:
    # `trackrun kill` writes cancel-requested before scancel; any other SIGTERM under SLURM
    # comes from SLURM itself.
    return (
        os.environ.get("TRACKRUN_BACKEND") == "slurm"
        and not (paths.job / "cancel-requested").exists()
    )


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _exit_words(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def main() -> None:
    """``python -m trackrun.jobs.supervisor RUN_DIR``."""
    if len(sys.argv) != 2:
        sys.exit("usage: python -m trackrun.jobs.supervisor RUN_DIR")
    sys.exit(Supervisor(Path(sys.argv[1])).run())


if __name__ == "__main__":
    main()
