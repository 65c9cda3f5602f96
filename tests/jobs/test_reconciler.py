"""Judging SLURM runs without a cluster: ``jobs.reconcile``, submit's wait for the job's
marker, and the local backend leaving SLURM runs alone.

SLURM's answers come from stand-ins for its commands (``squeue``, ``sacct``, ``sbatch``,
``scancel``) put first on PATH: each logs its arguments and prints what the test told it to,
in SLURM's own formats (recorded on the test cluster, see tests/slurm/test_parsing.py). A
controller that is down answers as the real tools do: they hang, or print "Unable to contact
slurm controller". Everything else is real: run folders, the store, trackrun's code path
through ``slurm_cli.call``. tests/slurm/test_cluster.py covers the same on a real cluster.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trackrun import jobs, liveness
from trackrun.events import append_event
from trackrun.jobs import reconciler, slurm_cli
from trackrun.jobs.backends import Handle
from trackrun.jobs.backends.local import LocalBackend
from trackrun.jobs.backends.slurm import USED_MARKER, SlurmBackend
from trackrun.layout import RunPaths
from trackrun.run import Run
from trackrun.store import Store

# One script serves as every SLURM command; its name ($0) says which.
FAKE_COMMAND = r"""#!/bin/bash
name=$(basename "$0")
dir=$(dirname "$0")
{ printf '%s' "$name"; printf ' %s' "$@"; echo; } >> "$dir/calls.log"
if [ -e "$dir/$name.hang" ]; then exec sleep 60; fi
if [ -e "$dir/$name.down" ]; then
  echo "$name: error: Unable to contact slurm controller (connect failure)" >&2
  exit 1
fi
if [ "$name" = sbatch ]; then
  script="${@: -1}"
  if [ ! -r "$script" ]; then echo "sbatch: error: Unable to open file $script" >&2; exit 1; fi
  if [ -e "$dir/sbatch.refuses" ]; then cat "$dir/sbatch.refuses" >&2; exit 1; fi
  id=$(( $(cat "$dir/next-id" 2>/dev/null || echo 500) + 1 ))
  echo "$id" > "$dir/next-id"
  echo "$id"
  exit 0
fi
cat "$dir/$name.out" 2>/dev/null
exit 0
"""
COMMANDS = ("squeue", "sacct", "sbatch", "scancel", "sinfo")


@dataclass
class FakeSlurm:
    """The stand-in SLURM commands' folder (first on PATH) and what they answer."""

    bin: Path

    def answer(self, command: str, text: str) -> None:
        """What ``command`` prints from now on (its stdout, exit 0)."""
        (self.bin / f"{command}.out").write_text(text)

    def down(self, command: str, hang: bool = False) -> None:
        """``command`` cannot reach the controller: it hangs, or says so at once."""
        (self.bin / f"{command}.{'hang' if hang else 'down'}").touch()

    def refuse_sbatch(self, message: str) -> None:
        (self.bin / "sbatch.refuses").write_text(message + "\n")

    def calls(self, command: str) -> list[list[str]]:
        """The argument lists ``command`` was called with, oldest first."""
        log = self.bin / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split()[1:] for line in lines if line.split()[0] == command]


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSlurm:
    folder = tmp_path / "slurm-bin"
    folder.mkdir()
    for name in COMMANDS:
        (folder / name).write_text(FAKE_COMMAND)
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)  # no project config of the repository's
    return FakeSlurm(folder)


@pytest.fixture
def store(store_root: Path) -> Store:
    store_root.mkdir(parents=True, exist_ok=True)
    (store_root / USED_MARKER).touch()
    return Store(store_root, lease=0)


def make_run(
    store: Store,
    job_id: str | None,
    status: str = "running",
    retries: int = 0,
    attempts: int = 1,
    marker: bool = True,
) -> RunPaths:
    """A detached run SLURM holds as ``job_id``: queued (no supervisor yet) or ``running``
    (its supervisor recorded the status and ``attempts`` attempts)."""
    run = Run.start(
        store.root,
        launch={"kind": "detached", "detached": True, "retries": retries, "backend": "slurm"},
        status="queued",
    )
    jobs.write_job(run.paths, "pass\n", jobs.freeze_inputs({}, []), [], None, retries, None)
    run.release()
    paths = run.paths
    if job_id is not None:
        Handle("slurm", paths.run_id, {"job_id": job_id, "job_ids": [job_id]}).save(paths)
    if marker:
        (paths.job / "slurm-started").write_text(f"{job_id} vm 0\n")
    if status != "queued":
        events = paths.events_of("supervisor")
        append_event(events, "status", status="running")
        for attempt in range(1, attempts + 1):
            append_event(events, "attempt", attempt=attempt, state="started")
        if status != "running":
            append_event(events, "status", status=status)
    store.ingest([paths.run_id])
    return paths


def squeue_line(job_id: str, state: str, reason: str = "None", node: str = "vm") -> str:
    start = "N/A" if state == "PENDING" else "2026-11-30T00:18:37"
    return f"{job_id}|{state}|{reason}|{node}|2026-11-30T00:18:36|{start}\n"


def sacct_line(job_id: str, state: str, exit_code: str = "0:0") -> str:
    times = "2026-11-30T00:21:14|2026-11-30T00:21:14|2026-11-30T00:21:15|2026-11-30T00:21:19"
    return f"{job_id}|{state}|{exit_code}|{times}|vm\n"


def stale() -> float:
    """A ``now`` at which every heartbeat written so far is stale."""
    return time.time() + reconciler.STALE_AFTER + 5


def status(store: Store, run: RunPaths) -> str:
    return str(store.summary(run.run_id)["status"])


def error(store: Store, run: RunPaths) -> str:
    return str(store.summary(run.run_id)["error"])


def shown(store: Store, run: RunPaths) -> str | None:
    """The SLURM state the panel shows (the saved one: the server never asks SLURM)."""
    info = jobs.describe(store, run.run_id, ask=False)
    assert info is not None
    return info.get("state")


# -- refreshing the saved state (what the panel shows) ------------------------------------


def test_one_squeue_refreshes_every_active_run_and_a_run_that_ended_gets_its_final_state(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    running = [make_run(store, str(100 + i)) for i in range(4)]  # fresh heartbeats
    queued = [make_run(store, str(200 + i), status="queued", marker=False) for i in range(4)]
    pending = "".join(squeue_line(str(200 + i), "PENDING", "Resources", "") for i in range(4))
    fake_slurm.answer(
        "squeue", "".join(squeue_line(str(100 + i), "RUNNING") for i in range(4)) + pending
    )
    answers = jobs.reconcile(store)
    assert sorted(answers) == sorted(r.run_id for r in [*running, *queued])
    (call,) = fake_slurm.calls("squeue")
    ids = call[call.index("-j") + 1].split(",")
    assert sorted(ids) == sorted(
        [*(str(100 + i) for i in range(4)), *(str(200 + i) for i in range(4))]
    )
    assert fake_slurm.calls("sacct") == []  # nobody ended
    assert [shown(store, r) for r in running] == ["RUNNING on vm"] * 4
    assert [shown(store, r) for r in queued] == ["PENDING (Resources)"] * 4
    assert [status(store, r) for r in running] == ["running"] * 4

    # Two runs end: their supervisor recorded it; SLURM's final record gives the state.
    for run in running[:2]:
        append_event(run.events_of("supervisor"), "status", status="finished")
    store.ingest([r.run_id for r in running[:2]])
    pending = "".join(squeue_line(str(200 + i), "PENDING", "Resources", "") for i in range(4))
    fake_slurm.answer(
        "squeue",
        "".join(squeue_line(str(100 + i), "COMPLETED" if i < 2 else "RUNNING") for i in range(4))
        + pending,
    )
    fake_slurm.answer("sacct", sacct_line("100", "COMPLETED") + sacct_line("101", "COMPLETED"))
    jobs.reconcile(store)
    assert [shown(store, r) for r in running] == ["COMPLETED, exit 0:0"] * 2 + ["RUNNING on vm"] * 2
    assert len(fake_slurm.calls("squeue")) == 2
    # Once a run's final state is saved, later passes no longer ask about it.
    jobs.reconcile(store)
    last = fake_slurm.calls("squeue")[-1]
    assert sorted(last[last.index("-j") + 1].split(",")) == sorted(
        ["102", "103", *(str(200 + i) for i in range(4))]
    )


def test_an_unreachable_controller_stops_the_pass_at_its_first_query(
    fake_slurm: FakeSlurm, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [make_run(store, str(300 + i), status="queued", marker=False) for i in range(6)]
    fake_slurm.down("squeue", hang=True)  # as squeue does while slurmctld is down
    monkeypatch.setattr(slurm_cli, "QUERY_TIMEOUT", 0.5)
    began = time.monotonic()
    jobs.reconcile(store)
    took = time.monotonic() - began
    assert len(fake_slurm.calls("squeue")) == 1
    assert fake_slurm.calls("sacct") == [] and fake_slurm.calls("sbatch") == []
    assert took < 0.5 * 3, f"the pass took {took:.1f} s"
    assert [shown(store, r) for r in runs] == [slurm_cli.UNREACHABLE] * 6
    assert [status(store, r) for r in runs] == ["queued"] * 6


def test_a_listing_of_runs_alive_by_their_heartbeats_never_waits_for_the_controller(
    fake_slurm: FakeSlurm, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [make_run(store, str(350 + i)) for i in range(3)]  # running, heartbeats fresh
    fake_slurm.down("squeue", hang=True)
    monkeypatch.setattr(slurm_cli, "QUERY_TIMEOUT", 0.5)
    assert jobs.reconcile(store, judge_only=True) == {}  # what `trackrun ls` asks
    assert fake_slurm.calls("squeue") == [] and fake_slurm.calls("sacct") == []
    assert [status(store, r) for r in runs] == ["running"] * 3
    queued = make_run(store, "360", status="queued", marker=False)
    answers = jobs.reconcile(store, judge_only=True)  # a queued run is judged: ask
    assert list(answers) == [queued.run_id] and len(fake_slurm.calls("squeue")) == 1


# -- judging runs whose heartbeats stopped -------------------------------------------------


def test_preempted_with_retries_left_is_resubmitted(fake_slurm: FakeSlurm, store: Store) -> None:
    run = make_run(store, None, status="queued", retries=1)
    jobs.submit(run.root, "slurm")  # the marker is there: submit returns at once
    first = str(Handle.load(run).ident["job_id"])  # type: ignore[union-attr]
    events = run.events_of("supervisor")
    append_event(events, "status", status="running")
    append_event(events, "attempt", attempt=1, state="started")
    store.ingest([run.run_id])
    fake_slurm.answer("sacct", sacct_line(first, "PREEMPTED"))  # squeue forgot it

    reconciler.reconcile(store, now=stale())
    submitted = fake_slurm.calls("sbatch")
    assert len(submitted) == 2 and submitted[1][-1] == str(run.job / "slurm.sh")
    handle = Handle.load(run)
    assert handle is not None and handle.ident["job_ids"] == [first, str(int(first) + 1)]
    assert handle.ident["job_id"] == str(int(first) + 1)
    assert not (run.job / "slurm-started").exists()  # the new job must write it again
    assert status(store, run) == "running"


def test_preempted_without_retries_left_fails_saying_why(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    spent = make_run(store, "401", retries=1, attempts=2)
    none = make_run(store, "402", retries=0)
    fake_slurm.answer("sacct", sacct_line("401", "PREEMPTED") + sacct_line("402", "PREEMPTED"))
    reconciler.reconcile(store, now=stale())
    for run in (spent, none):
        assert status(store, run) == "failed"
        assert error(store, run) == "SLURM preempted the job (PREEMPTED) and no --retries are left"
    assert fake_slurm.calls("sbatch") == []


def test_unreachable_controller_with_stale_heartbeats_changes_no_status(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    runs = [make_run(store, "501"), make_run(store, "502", status="queued", marker=False)]
    fake_slurm.down("squeue")
    fake_slurm.down("sacct")
    answers = reconciler.reconcile(store, now=stale())
    assert {a.detail for a in answers.values()} == {slurm_cli.UNREACHABLE}
    assert [status(store, r) for r in runs] == ["running", "queued"]
    assert [shown(store, r) for r in runs] == [slurm_cli.UNREACHABLE] * 2
    saved = reconciler.load_state(runs[0])
    assert saved is not None and saved["phase"] == "unknown"


def test_a_job_slurm_forgot_without_a_final_record_is_lost(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    run = make_run(store, "601")
    fresh = make_run(store, "602")
    jobs.reconcile(store)  # heartbeats fresh: nobody is judged, whatever SLURM says
    assert [status(store, r) for r in (run, fresh)] == ["running", "running"]
    reconciler.reconcile(store, now=stale())
    assert status(store, run) == "lost"
    assert error(store, run) == (
        "SLURM has no record of job 601 (asked squeue and sacct), "
        "and its supervisor recorded no end"
    )


# -- resubmitting array tasks, and a SLURM error on one run -------------------------------


def test_a_node_failure_resubmits_any_task_of_an_array(fake_slurm: FakeSlurm, store: Store) -> None:
    runs = [make_run(store, None, status="queued", retries=1) for _ in range(3)]
    handles = SlurmBackend(store.paths).submit_many(runs)
    array_id = str(handles[0].ident["array_job_id"])
    for run in runs:
        events = run.events_of("supervisor")
        append_event(events, "status", status="running")
        append_event(events, "attempt", attempt=1, state="started")
    store.ingest([r.run_id for r in runs])
    fake_slurm.answer("squeue", squeue_line(f"{array_id}_0", "RUNNING"))
    fake_slurm.answer(
        "sacct", sacct_line(f"{array_id}_1", "NODE_FAIL") + sacct_line(f"{array_id}_2", "PREEMPTED")
    )
    reconciler.reconcile(store, now=stale())
    resubmitted = sorted(call[-1] for call in fake_slurm.calls("sbatch")[1:])
    assert resubmitted == sorted(str(runs[i].job / "slurm.sh") for i in (1, 2))
    for index in (1, 2):
        script = (runs[index].job / "slurm.sh").read_text()
        assert f"RUN_DIR={runs[index].root}" in script and "SLURM_ARRAY_TASK_ID" not in script
        handle = Handle.load(runs[index])
        assert handle is not None and handle.ident["job_ids"][0] == f"{array_id}_{index}"
        assert len(handle.ident["job_ids"]) == 2
    assert [status(store, r) for r in runs] == ["running"] * 3


def test_a_resubmission_sbatch_refuses_fails_that_run_and_the_pass_goes_on(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    run = make_run(store, None, status="queued", retries=2)
    jobs.submit(run.root, "slurm")
    job_id = str(Handle.load(run).ident["job_id"])  # type: ignore[union-attr]
    events = run.events_of("supervisor")
    append_event(events, "status", status="running")
    append_event(events, "attempt", attempt=1, state="started")
    other = make_run(store, "777")
    store.ingest([run.run_id])
    fake_slurm.answer("sacct", sacct_line(job_id, "NODE_FAIL"))
    fake_slurm.refuse_sbatch(
        "sbatch: error: Batch job submission failed: Invalid partition name specified"
    )
    reconciler.reconcile(store, now=stale())  # never raises
    assert status(store, run) == "failed"
    assert error(store, run) == (
        "the job's compute node failed (NODE_FAIL) and resubmitting it failed: sbatch refused "
        "the job: sbatch: error: Batch job submission failed: Invalid partition name specified"
    )
    assert status(store, other) == "lost"  # judged in the same pass


# -- submit's wait for the marker ---------------------------------------------------------


def test_a_controller_outage_while_submit_waits_is_no_invisible_store(
    fake_slurm: FakeSlurm, store: Store
) -> None:
    run = make_run(store, None, status="queued", marker=False)
    fake_slurm.down("squeue")
    fake_slurm.down("sacct")
    began = time.monotonic()
    handle = jobs.submit(run.root, "slurm")  # raised StoreNotVisible after 5 s
    assert time.monotonic() - began < 3
    assert handle.ident["job_id"] == "501"
    assert status(store, run) == "queued"  # left to jobs.reconcile, which asks later
    assert shown(store, run) == slurm_cli.UNREACHABLE
    # When the controller answers again, the job runs: reconcile says so.
    (fake_slurm.bin / "squeue.down").unlink()
    fake_slurm.answer("squeue", squeue_line("501", "RUNNING"))
    jobs.reconcile(store)
    assert shown(store, run) == "RUNNING on vm"
    assert status(store, run) == "queued"


# -- the local backend leaves SLURM's runs alone ------------------------------------------


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_local_adoption_skips_runs_slurm_runs_on_this_host(
    store: Store, live_process: subprocess.Popen[bytes]
) -> None:
    # On a cluster whose login node also runs jobs (or on the test cluster), a SLURM run's
    # supervisor is a live process on this host: it must not take a local slot or GPU.
    pid = live_process.pid
    here = {"pid": pid, "proc_start": liveness.process_start_time(pid), "host": liveness.hostname()}
    on_slurm = make_run(store, "901")
    local = make_run(store, None, marker=False)
    Handle("local", local.run_id, here).save(local)
    for run in (on_slurm, local):
        append_event(run.events_of("supervisor"), "status", status="running", **here)
    adopted = LocalBackend(store.paths).adopt()
    assert [h.run_id for h in adopted] == [local.run_id]
