"""The SLURM backend: ``sbatch`` a batch script that runs the run's supervisor on a compute node.

The run folder is the interface, as for local runs: the batch script (``job/slurm.sh``) runs
the same supervisor (``python -m trackrun.jobs.supervisor RUN_DIR``), which writes status,
attempts, metrics and ``output.log`` into the run folder on the shared filesystem. SLURM is
the queue: no slot accounting of ours. Liveness across hosts cannot use pids; the jobs layer
(``jobs/reconciler.py``) asks SLURM once a run's heartbeats stop.

Files in the run's ``job/`` folder: ``slurm.json`` (the sbatch options chosen at launch),
``slurm.sh`` (the run's batch script; the first run of a job array also has the array's,
``slurm-array.sh``, and its list of run folders, ``slurm-array.txt``), ``slurm-state.json``
(what SLURM said last), ``slurm-started`` (the marker the job writes first, which proves the
compute node sees the store), ``slurm-<jobid>.out`` (the supervisor's own output),
``cancel-requested`` (written before ``scancel`` by ``trackrun kill``, so the
supervisor tells a user's kill from SLURM stopping the job to requeue it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

from trackrun.errors import TrackrunError
from trackrun.ids import is_run_id
from trackrun.jobs import slurm_cli
from trackrun.jobs.backends import Handle, JobState
from trackrun.jobs.environment import without_jupyter_credentials
from trackrun.jobs.freeze import read_spec
from trackrun.jobs.spawn import SUPERVISOR_MODULE
from trackrun.layout import RunPaths, StorePaths, write_json_atomic

#: Seconds submit waits for the job's marker while the job runs (not while it is pending).
MARKER_TIMEOUT = float(os.environ.get("TRACKRUN_SLURM_MARKER_TIMEOUT", "60"))
#: Seconds submit waits for a job the scheduler has not looked at yet (reason ``None``);
#: a job pending for a named reason (Resources, Priority...) is checked when it starts.
QUEUE_PATIENCE = 10.0
#: Seconds the marker may lag behind SLURM's word that the job ended (shared filesystems
#: cache directory listings).
MARKER_GRACE = 5.0
#: Exit code of a batch script that cannot write into the run folder.
NOT_VISIBLE_EXIT = 78

NOT_VISIBLE = "the store is not on a filesystem the compute node sees"
#: A file in the store saying it has sent runs to SLURM (so the Jupyter server's periodic
#: reconciliation costs nothing in stores that never did).
USED_MARKER = ".slurm-used"
#: What SLURM said last of a run, in its ``job/`` folder (for ``trackrun show`` and the panel).
STATE_FILE = "slurm-state.json"

log = logging.getLogger("trackrun.jobs")


class StoreNotVisible(TrackrunError):
    """The job ran but never wrote its marker: the compute node does not see the store."""


class SlurmBackend:
    """Submits runs with sbatch; state from squeue / sacct; cancel with scancel."""

    name: ClassVar[str] = "slurm"

    def __init__(self, store: StorePaths) -> None:
        self.store = store

    # -- submitting ---------------------------------------------------------------------
    def submit(self, run: RunPaths) -> Handle:
        """Submit the run's frozen job; return its handle (saved) once the job's marker
        appeared or SLURM said it waits in the queue.

        Raises SlurmNotInstalled, SlurmError (unknown partition, sbatch refused: nothing is
        submitted), ControllerUnreachable, or StoreNotVisible (the job is cancelled then).
        """
        options = self.options(run)
        self.check(options)
        script = self._write_script(run, options, array_list=None)
        handle = Handle(self.name, run.run_id)
        handle.save(run)  # before the job can start: nobody judges this run by its pid
        (self.store.root / USED_MARKER).touch()
        job_id = slurm_cli.sbatch(str(script), [], _submit_env())
        handle.ident = {"job_id": job_id, "job_ids": [job_id]}
        handle.save(run)
        self._wait_for_marker(run, job_id)
        return handle

    def submit_many(self, runs: Sequence[RunPaths], parallel: int | None = None) -> list[Handle]:
        """Submit ``runs`` as one job array (``sbatch --array=0-N%parallel``): task i runs
        the i-th run folder, listed in the first run's ``job/slurm-array.txt``. Every run
        gets the first run's sbatch options. Raises as :meth:`submit`."""
        if not runs:
            return []
        if parallel is not None and parallel < 1:
            raise TrackrunError(f"parallel must be 1 or more, not {parallel}")
        options = self.options(runs[0])
        self.check(options)
        listing = runs[0].job / "slurm-array.txt"
        listing.write_text("".join(f"{r.root}\n" for r in runs), encoding="utf-8")
        script = self._write_script(runs[0], options, array_list=listing)
        # Each run also gets its own plain script: a task SLURM preempts or loses with its
        # node is resubmitted alone (resubmit), not as part of the array.
        for run in runs:
            self._write_script(run, options, array_list=None)
        handles = [Handle(self.name, r.run_id) for r in runs]
        for run, handle in zip(runs, handles, strict=False):
            handle.save(run)
        (self.store.root / USED_MARKER).touch()
        spec = f"0-{len(runs) - 1}" + (f"%{parallel}" if parallel else "")
        array_id = slurm_cli.sbatch(str(script), [f"--array={spec}"], _submit_env())
        for index, (run, handle) in enumerate(zip(runs, handles, strict=False)):
            job_id = f"{array_id}_{index}"
            handle.ident = {"job_id": job_id, "job_ids": [job_id], "array_job_id": array_id}
            handle.save(run)
        self._wait_for_marker(runs[0], f"{array_id}_0")
        return handles

    def resubmit(self, run: RunPaths, handle: Handle) -> Handle:
        """Submit the run again, as a plain job even when it was an array task (after SLURM
        preempted it or its node failed); the handle keeps every job id. The supervisor
        numbers attempts on from its own record. Raises SlurmError (sbatch refused),
        ControllerUnreachable."""
        previous = list(handle.ident.get("job_ids") or [])
        script = run.job / "slurm.sh"
        if not script.exists():  # an array task submitted before each run had its own
            self._write_script(run, self.options(run), array_list=None)
        (run.job / "slurm-started").unlink(missing_ok=True)
        job_id = slurm_cli.sbatch(str(script), [], _submit_env())
        handle.ident = {**handle.ident, "job_id": job_id, "job_ids": [*previous, job_id]}
        handle.save(run)
        return handle

    def options(self, run: RunPaths) -> dict[str, str]:
        """The sbatch options of ``run``: those chosen at launch, else the project config's."""
        try:
            saved = json.loads((run.job / "slurm.json").read_text(encoding="utf-8"))
            return {str(k): str(v) for k, v in saved.items()}
        except FileNotFoundError:
            from trackrun.config import load_config  # tomllib: only when needed

            return load_config(self.store.root).slurm

    def check(self, options: dict[str, str]) -> None:
        """Refuse what would fail: no sbatch here, a partition the cluster does not have.
        Raises SlurmNotInstalled, SlurmError, ControllerUnreachable."""
        if shutil.which("sbatch") is None:
            raise slurm_cli.SlurmNotInstalled(
                "`sbatch` is not installed here (or not on PATH): the SLURM backend needs the "
                "SLURM client tools on the machine that runs the notebook; install them "
                "(Debian: apt-get install slurm-client) or choose another backend (--on local)"
            )
        wanted = options.get("partition")
        if wanted:
            known = slurm_cli.partitions()
            missing = [p for p in wanted.split(",") if p not in known]
            if missing:
                raise slurm_cli.SlurmError(
                    f"unknown SLURM partition {', '.join(missing)}; this cluster has: "
                    f"{', '.join(known) or 'none'} (see `sinfo`)"
                )

    def _write_script(
        self, run: RunPaths, options: dict[str, str], array_list: Path | None
    ) -> Path:
        spec = read_spec(run)
        retries = int(spec.get("retries") or 0)
        lines = [
            "#!/bin/bash",
            "# Written by trackrun: runs this run's supervisor on the compute node.",
            f"#SBATCH --job-name=trackrun-{run.run_id}",
            f"#SBATCH --output={run.job}/slurm-%j.out",
            "#SBATCH --open-mode=append",
            # A requeued job (scontrol requeue, preemption, node failure) runs again and
            # the supervisor goes on with its next attempt; without retries it must not.
            "#SBATCH --requeue" if retries else "#SBATCH --no-requeue",
        ]
        for key, value in options.items():
            lines.append(f"#SBATCH --{key}" + (f"={value}" if value else ""))
        if array_list is not None:
            lines.append(
                f'RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(str(array_list))})'
            )
        else:
            lines.append(f"RUN_DIR={shlex.quote(str(run.root))}")
        lines += [
            "# The marker proves this node sees the store; the submitter waits for it.",
            'if ! printf "%s %s %s\\n" "${SLURM_JOB_ID}" "$(hostname)" '
            '"${SLURM_RESTART_COUNT:-0}" > "$RUN_DIR/job/slurm-started"; then',
            f'  echo "trackrun: {NOT_VISIBLE}: $RUN_DIR is not writable on $(hostname)" >&2',
            f"  exit {NOT_VISIBLE_EXIT}",
            "fi",
            'cd "$RUN_DIR"',
            "export TRACKRUN_BACKEND=slurm PYTHONUNBUFFERED=1",
            f'exec {shlex.quote(spec["python"])} -m {SUPERVISOR_MODULE} "$RUN_DIR"',
        ]
        script = run.job / ("slurm.sh" if array_list is None else "slurm-array.sh")
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        script.chmod(0o700)
        return script

    def _wait_for_marker(self, run: RunPaths, job_id: str) -> None:
        marker = run.job / "slurm-started"
        deadline = time.monotonic() + MARKER_TIMEOUT
        ended_at: float | None = None
        info: slurm_cli.JobInfo | None = None
        started = time.monotonic()
        while not marker.exists():
            now = time.monotonic()
            try:
                info = self._info(job_id)
            except slurm_cli.ControllerUnreachable as error:
                # Not a sign that the job ended: jobs.reconcile checks it when SLURM answers.
                save_state(run, JobState("unknown", slurm_cli.UNREACHABLE, {"job_id": job_id}))
                log.warning(
                    "trackrun: %s while waiting for SLURM job %s of run %s to start (%s); "
                    "the run stays queued and is checked when the controller answers again "
                    "(trackrun ls or show, or the Jupyter server)",
                    slurm_cli.UNREACHABLE,
                    job_id,
                    run.run_id,
                    error,
                )
                return
            if (
                info is not None
                and info.state in slurm_cli.QUEUED_STATES
                and (info.reason not in (None, "None") or now - started > QUEUE_PATIENCE)
            ):
                return  # waits in the queue: checked when it starts (jobs.reconcile)
            if info is None or info.state in slurm_cli.ENDED_STATES:
                ended_at = ended_at or now
            if (ended_at is not None and now - ended_at > MARKER_GRACE) or now > deadline:
                if marker.exists():
                    return
                with contextlib.suppress(slurm_cli.SlurmError):
                    slurm_cli.scancel(job_id)
                where = f" on node {info.node}" if info and info.node else ""
                raise StoreNotVisible(
                    f"{NOT_VISIBLE}: SLURM job {job_id} started{where} but never wrote its "
                    f"marker {marker} (waited {MARKER_TIMEOUT:g} s). Put the store (--store or "
                    "TRACKRUN_HOME) in a folder the compute nodes mount at the same path, "
                    "such as your home or project directory; the job was cancelled."
                )
            time.sleep(0.1)

    # -- state, cancel, adopt -----------------------------------------------------------
    def _info(self, job_id: str) -> slurm_cli.JobInfo | None:
        """SLURM's record of ``job_id``: squeue while the controller remembers it, then the
        final record (sacct); None when neither knows it. Raises ControllerUnreachable."""
        info = slurm_cli.squeue([job_id]).get(job_id)
        if info is None:
            info = slurm_cli.sacct([job_id]).get(job_id)
        return info

    def state(self, handle: Handle) -> JobState:
        """The job's phase with SLURM's words as the detail: ``PENDING (Resources)``,
        ``RUNNING on node1``, ``TIMEOUT``...; ``unknown`` when the controller does not
        answer. ``extra`` holds job_id, slurm_state, reason, node, queue_wait, exit_code."""
        extra = {"job_id": str(handle.ident.get("job_id") or "") or None}
        try:
            return self.states([handle])[handle.run_id]
        except slurm_cli.ControllerUnreachable:
            return JobState("unknown", slurm_cli.UNREACHABLE, extra)
        except slurm_cli.SlurmError as error:
            return JobState("unknown", str(error), extra)

    def states(self, handles: Sequence[Handle]) -> dict[str, JobState]:
        """:meth:`state` of each handle, by run id, from ONE ``squeue`` for all of them and
        at most one ``sacct`` (the final records of the jobs squeue saw end or has
        forgotten). Raises ControllerUnreachable, or SlurmError when squeue fails."""
        ids = {h.run_id: str(h.ident.get("job_id") or "") for h in handles}
        asked = sorted({i for i in ids.values() if i})
        known = slurm_cli.squeue(asked)
        final_wanted = [
            i for i in asked if i not in known or known[i].state in slurm_cli.ENDED_STATES
        ]
        final = slurm_cli.sacct(final_wanted)
        states = {}
        for run_id, job_id in ids.items():
            if not job_id:
                states[run_id] = JobState("queued", "being submitted to SLURM", {"job_id": None})
            else:
                states[run_id] = job_state(job_id, final.get(job_id) or known.get(job_id))
        return states

    def cancel(self, handle: Handle) -> bool:
        """``scancel`` the job (SLURM's cgroup takes every process of it). True when the
        job was running, so its supervisor will record ``killed``; False for a job that
        was still pending (nothing of it ran). Raises ControllerUnreachable."""
        run = self.store.run(handle.run_id)
        job_id = str(handle.ident.get("job_id") or "")
        if not job_id:
            return False
        # Written first: the supervisor tells this kill from SLURM stopping it to requeue.
        write_json_atomic(run.job / "cancel-requested", {"at": time.time(), "job_id": job_id})
        info = self._info(job_id)
        slurm_cli.scancel(job_id)
        return info is not None and info.state in slurm_cli.RUNNING_STATES

    def adopt(self) -> list[Handle]:
        """Handles of SLURM runs in the store whose jobs SLURM still queues or runs."""
        try:
            names = sorted(n for n in os.listdir(self.store.runs) if is_run_id(n))
        except FileNotFoundError:
            return []
        handles = [h for h in (Handle.load(self.store.run(n)) for n in names) if h]
        ours = [h for h in handles if h.backend == self.name and h.ident.get("job_id")]
        try:
            known = slurm_cli.squeue([str(h.ident["job_id"]) for h in ours])
        except slurm_cli.SlurmError:
            return []
        live = slurm_cli.QUEUED_STATES | slurm_cli.RUNNING_STATES
        return [h for h in ours if (i := known.get(str(h.ident["job_id"]))) and i.state in live]


def job_state(job_id: str, info: slurm_cli.JobInfo | None) -> JobState:
    """The JobState of ``job_id`` from SLURM's record of it (None: SLURM has none)."""
    extra: dict[str, Any] = {"job_id": job_id}
    if info is None:
        return JobState("gone", f"SLURM has no record of job {job_id}", extra)
    extra.update(
        slurm_state=info.state,
        reason=info.reason,
        node=info.node,
        queue_wait=info.queue_wait(),
        exit_code=info.exit_code,
        source=info.source,
    )
    if info.state in slurm_cli.QUEUED_STATES:
        return JobState("queued", f"{info.state} ({info.reason or 'waiting'})", extra)
    if info.state in slurm_cli.RUNNING_STATES:
        return JobState("running", f"{info.state} on {info.node or 'a node'}", extra)
    detail = info.state + (f", exit {info.exit_code}" if info.exit_code else "")
    return JobState("ended", detail, extra)


def save_state(run: RunPaths, state: JobState) -> None:
    """Remember what SLURM said of ``run`` (``job/slurm-state.json``). An ``unknown`` state
    (no answer) keeps the facts SLURM gave before (node, queue wait) under its detail."""
    extra = dict(state.extra)
    if state.phase == "unknown":
        before = (load_state(run) or {}).get("extra")
        if isinstance(before, dict):
            extra = {**before, **{k: v for k, v in extra.items() if v is not None}}
    record = {**asdict(state), "extra": extra, "checked_at": time.time()}
    write_json_atomic(run.job / STATE_FILE, record)


def load_state(run: RunPaths) -> dict[str, Any] | None:
    """What SLURM said last of ``run`` (``phase``, ``detail``, ``extra``, ``checked_at``),
    or None."""
    try:
        data = json.loads((run.job / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_options(run: RunPaths, options: dict[str, str]) -> None:
    """Save the sbatch options chosen at launch into the run's ``job/slurm.json``."""
    write_json_atomic(run.job / "slurm.json", options)


def _submit_env() -> dict[str, str]:
    # The job inherits sbatch's environment (--export=ALL): the kernel's secrets travel in
    # it, as for local runs (never in a file of ours; docs/slurm.md says where SLURM keeps
    # them), without Jupyter's credentials, and without the SLURM_* of a notebook that
    # itself runs inside a SLURM job.
    env = without_jupyter_credentials(os.environ)
    return {k: v for k, v in env.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}


BACKEND = SlurmBackend
