"""The SLURM command-line tools, wrapped: every call with a timeout, every answer parsed.

Only the stable, machine-readable forms are used: ``sbatch --parsable``, ``sacct -P``,
and ``squeue``/``sinfo`` with an explicit ``--format`` and a ``|`` separator. The ``--json``
output of squeue exists in 22.05 but its schema changed in 23.02 and again in 23.11 (states
became lists, times became ``{"set", "number"}`` objects), while these formats have not;
so one parser serves 22.05 to 24.x. Nothing here needs slurmrestd, pyslurm or slurmdbd
(``sacct -c`` reads the job completion file when accounting storage is off).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from trackrun.errors import TrackrunError

#: Seconds a query (squeue, sacct, sinfo, scancel) may take. A SLURM client blocks about
#: 9 s when slurmctld is down before it gives up; we give up sooner and say so.
QUERY_TIMEOUT = float(os.environ.get("TRACKRUN_SLURM_TIMEOUT", "5"))
#: Seconds sbatch may take (longer: a submission cut short may still have been accepted).
SUBMIT_TIMEOUT = float(os.environ.get("TRACKRUN_SLURM_SUBMIT_TIMEOUT", "20"))

#: What the rest of trackrun shows for a controller that does not answer.
UNREACHABLE = "SLURM controller not reachable"

#: SLURM's job states, by what they mean for a run.
QUEUED_STATES = frozenset(
    {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
)
RUNNING_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}
)
ENDED_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "PREEMPTED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "BOOT_FAIL",
        "DEADLINE",
        "SPECIAL_EXIT",
        "REVOKED",
    }
)

_SQUEUE_FORMAT = "%i|%T|%r|%N|%V|%S"
_SACCT_FIELDS = "JobID,State,ExitCode,Submit,Eligible,Start,End,NodeList"


class SlurmError(TrackrunError):
    """A SLURM command refused or failed; the message says which and why."""


class SlurmNotInstalled(SlurmError):
    """The SLURM client tools are not on this machine's PATH."""


class ControllerUnreachable(SlurmError):
    """slurmctld did not answer (down, or too slow) within the timeout."""


@dataclass
class JobInfo:
    """One job as SLURM reports it (from squeue while it is known there, else sacct -c)."""

    job_id: str
    state: str
    reason: str | None = None
    node: str | None = None
    submit: float | None = None
    start: float | None = None
    end: float | None = None
    exit_code: str | None = None
    source: str = "squeue"

    def queue_wait(self, now: float | None = None) -> float | None:
        """Seconds spent waiting in the queue: until the start, or until now while pending."""
        if self.submit is None:
            return None
        if self.state in QUEUED_STATES:
            return max(0.0, (now or time.time()) - self.submit)
        if self.start is None:
            return None
        return max(0.0, self.start - self.submit)


def call(
    args: Sequence[str],
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a SLURM command; return the finished process (any exit code). ``timeout``:
    seconds (None: ``QUERY_TIMEOUT``, read at each call).

    Raises SlurmNotInstalled when the command does not exist, and ControllerUnreachable when
    it times out or reports that it cannot contact the controller.
    """
    if timeout is None:
        timeout = QUERY_TIMEOUT
    try:
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SlurmNotInstalled(
            f"`{args[0]}` is not installed here (or not on PATH): the SLURM backend needs the "
            "SLURM client tools (sbatch, squeue, sacct, scancel, sinfo) on the machine that "
            "runs the notebook; install them (Debian: apt-get install slurm-client) or choose "
            "another backend (--on local)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ControllerUnreachable(
            f"{UNREACHABLE}: `{args[0]}` got no answer within {timeout:g} s"
        ) from None
    if proc.returncode != 0 and _unreachable(proc.stderr):
        raise ControllerUnreachable(f"{UNREACHABLE}: {proc.stderr.strip().splitlines()[-1]}")
    return proc


def _unreachable(stderr: str) -> bool:
    text = stderr.lower()
    return "unable to contact slurm controller" in text or "connection refused" in text


def parse_job_id(stdout: str) -> str:
    """The job id in ``sbatch --parsable`` output (``ID`` or ``ID;CLUSTER``)."""
    first = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    job_id = first.split(";", 1)[0].strip()
    if not re.fullmatch(r"\d+", job_id):
        raise SlurmError(f"sbatch answered {stdout.strip()!r}, not a job id")
    return job_id


def sbatch(script: str, args: Sequence[str], env: Mapping[str, str]) -> str:
    """Submit the batch ``script`` (a file path) with extra ``args``; return the job id.

    Raises SlurmError with sbatch's own message when it refuses (nothing is submitted then).
    """
    proc = call(["sbatch", "--parsable", *args, script], timeout=SUBMIT_TIMEOUT, env=env)
    if proc.returncode != 0:
        raise SlurmError(f"sbatch refused the job: {_last_error(proc.stderr)}")
    return parse_job_id(proc.stdout)


def partitions() -> list[str]:
    """The partitions the controller knows (``sinfo``), the default one first."""
    proc = call(["sinfo", "-h", "-o", "%P"])
    if proc.returncode != 0:
        raise SlurmError(f"sinfo failed: {_last_error(proc.stderr)}")
    names = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    names.sort(key=lambda n: not n.endswith("*"))
    return [n.rstrip("*") for n in names]


def parse_squeue(stdout: str) -> dict[str, JobInfo]:
    """Jobs in ``squeue -h -r -o '%i|%T|%r|%N|%V|%S'`` output, by job id."""
    jobs: dict[str, JobInfo] = {}
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 6:
            continue
        job_id, state, reason, node, submit, start = parts
        state = _base_state(state)
        jobs[job_id] = JobInfo(
            job_id,
            state,
            reason=reason if reason and reason != "None" else None,
            node=node or None,
            submit=_timestamp(submit),
            start=_timestamp(start) if state not in QUEUED_STATES else None,
        )
    return jobs


def parse_sacct(stdout: str) -> dict[str, JobInfo]:
    """Jobs in ``sacct -P -n -o JobID,State,ExitCode,Submit,Eligible,Start,End,NodeList``
    output.

    Steps (``ID.batch``) are skipped; of a job listed several times (requeued), the last
    line wins. A state like ``CANCELLED by 0`` is kept as ``CANCELLED``. The submit time is
    the earlier of Submit and Eligible: ``sacct -c`` of 22.05 prints the start time as
    Submit (the job completion file's SubmitTime comes out as Eligible), and a job is never
    eligible before it is submitted.
    """
    jobs: dict[str, JobInfo] = {}
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 8 or "." in parts[0]:
            continue
        job_id, state, exit_code, submit, eligible, start, end, node = parts[:8]
        times = [t for t in (_timestamp(submit), _timestamp(eligible)) if t is not None]
        jobs[job_id] = JobInfo(
            job_id,
            _base_state(state),
            node=node or None,
            submit=min(times) if times else None,
            start=_timestamp(start),
            end=_timestamp(end),
            exit_code=exit_code or None,
            source="sacct",
        )
    return jobs


def squeue(job_ids: Sequence[str]) -> dict[str, JobInfo]:
    """What squeue knows of ``job_ids`` (finished ones too, for ``MinJobAge``); missing
    ids are jobs the controller has forgotten. Raises ControllerUnreachable."""
    if not job_ids:
        return {}
    proc = call(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(job_ids), "-o", _SQUEUE_FORMAT])
    if proc.returncode != 0:
        if "invalid job id" in proc.stderr.lower():
            return {}  # every id is unknown to the controller now
        raise SlurmError(f"squeue failed: {_last_error(proc.stderr)}")
    return parse_squeue(proc.stdout)


def sacct(job_ids: Sequence[str]) -> dict[str, JobInfo]:
    """The final records of ``job_ids``: ``sacct`` with accounting storage, else the job
    completion file (``sacct -c``). Empty when neither has them (or neither is set up)."""
    if not job_ids:
        return {}
    base = ["sacct", "-P", "-n", "-X", "-o", _SACCT_FIELDS, "-j", ",".join(job_ids)]
    proc = call(base)
    if proc.returncode != 0 or not proc.stdout.strip():
        proc = call([*base[:1], "-c", *base[1:]])
    if proc.returncode != 0:
        return {}
    return parse_sacct(proc.stdout)


def scancel(job_id: str) -> bool:
    """Cancel the job; True when SLURM accepted the request. Raises ControllerUnreachable."""
    return call(["scancel", job_id]).returncode == 0


def _base_state(state: str) -> str:
    # "CANCELLED by 0" (sacct) and "RUNNING+" style suffixes carry nothing we show.
    return state.split(" ", 1)[0].rstrip("+").upper()


def _timestamp(text: str) -> float | None:
    text = text.strip()
    if not text or text in {"N/A", "Unknown", "None"}:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
