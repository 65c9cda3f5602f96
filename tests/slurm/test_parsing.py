"""Reading SLURM's answers (outputs recorded from Debian's slurm-wlm 22.05.8) and the
project config; no cluster needed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from trackrun.config import ConfigError, load_config, parse_slurm_options, resolve_backend
from trackrun.jobs import slurm_cli

# `squeue -h -r -t all -j ... -o '%i|%T|%r|%N|%V|%S'`, recorded on the test cluster.
SQUEUE = """\
7|RUNNING|None|vm|2026-11-30T00:18:36|2026-11-30T00:18:37
8|PENDING|Resources||2026-11-30T00:18:40|2026-11-30T00:20:41
9_3|PENDING|Priority||2026-11-30T00:18:41|N/A
10|COMPLETED|None|vm|2026-11-30T00:17:54|2026-11-30T00:17:54
"""
# `sacct -c -P -n -X -o JobID,State,ExitCode,Submit,Eligible,Start,End,NodeList -j ...`
SACCT = """\
4|COMPLETED|0:0|2026-11-30T00:21:14|2026-11-30T00:21:14|2026-11-30T00:21:15|2026-11-30T00:21:19|vm
5|CANCELLED by 0|0:0|2026-11-30T00:22:00|2026-11-30T00:22:00|2026-11-30T00:22:01|2026-11-30T00:22:09|vm
5.batch|CANCELLED|0:15|2026-11-30T00:22:00|2026-11-30T00:22:00|2026-11-30T00:22:01|2026-11-30T00:22:09|vm
6|FAILED|0:9|2026-11-30T00:23:00|2026-11-30T00:23:00|2026-11-30T00:23:05|2026-11-30T00:23:30|vm
6|NODE_FAIL|0:0|2026-11-30T00:23:00|2026-11-30T00:23:00|2026-11-30T00:24:05|2026-11-30T00:24:30|vm
215|COMPLETED|0:0|2026-11-30T09:06:44|2026-11-30T09:06:40|2026-11-30T09:06:44|2026-11-30T09:06:46|vm
"""


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_squeue_lines_become_states_reasons_nodes_and_queue_waits() -> None:
    jobs = slurm_cli.parse_squeue(SQUEUE)
    assert sorted(jobs) == ["10", "7", "8", "9_3"]
    assert (jobs["7"].state, jobs["7"].reason, jobs["7"].node) == ("RUNNING", None, "vm")
    assert jobs["7"].queue_wait() == 1.0
    pending = jobs["8"]
    assert (pending.state, pending.reason, pending.node, pending.start) == (
        "PENDING",
        "Resources",
        None,
        None,
    )
    now = _ts("2026-11-30T00:19:00")
    assert pending.queue_wait(now) == 20.0
    assert jobs["9_3"].reason == "Priority"
    assert jobs["10"].queue_wait() == 0.0


def test_sacct_keeps_jobs_not_steps_and_the_last_record_of_a_requeued_job() -> None:
    jobs = slurm_cli.parse_sacct(SACCT)
    assert sorted(jobs) == ["215", "4", "5", "6"]
    assert jobs["5"].state == "CANCELLED" and jobs["5"].exit_code == "0:0"
    assert jobs["6"].state == "NODE_FAIL" and jobs["6"].source == "sacct"
    assert jobs["4"].end == _ts("2026-11-30T00:21:19")
    assert jobs["4"].queue_wait() == 1.0


def test_sacct_c_queue_wait_counts_from_the_submit_time_it_prints_as_eligible() -> None:
    # Job 215 waited 4 s behind two others; sacct -c (22.05) printed its start as Submit.
    job = slurm_cli.parse_sacct(SACCT)["215"]
    assert job.submit == _ts("2026-11-30T09:06:40") and job.queue_wait() == 4.0


def test_sbatch_parsable_answers() -> None:
    assert slurm_cli.parse_job_id("123\n") == "123"
    assert slurm_cli.parse_job_id("123;cluster2\n") == "123"
    with pytest.raises(slurm_cli.SlurmError, match="not a job id"):
        slurm_cli.parse_job_id("Submitted batch job 123\n")


def test_missing_command_and_unreachable_controller_are_named(tmp_path: Path) -> None:
    with pytest.raises(slurm_cli.SlurmNotInstalled, match="not installed.*--on local"):
        slurm_cli.call(["/nonexistent/sbatch"])
    with pytest.raises(slurm_cli.ControllerUnreachable, match="controller not reachable"):
        slurm_cli.call(["sleep", "5"], timeout=0.2)


def test_slurm_text_is_read_into_sbatch_options() -> None:
    options = parse_slurm_options(
        "partition=gpu gres=gpu:1 time=04:00:00 mem=32G cpus_per_task=8 exclusive"
    )
    assert options == {
        "partition": "gpu",
        "gres": "gpu:1",
        "time": "04:00:00",
        "mem": "32G",
        "cpus-per-task": "8",
        "exclusive": "",
    }
    assert parse_slurm_options("'comment=two words'") == {"comment": "two words"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("partition gpu", "'partition' has no value"),
        ("partition=gpu time", "'time' has no value"),
        ("=gpu", "not an sbatch option name"),
        ("partition='gpu", "cannot read"),
        ("output=/tmp/x.log", "trackrun sets --output itself"),
        ("mem=", "empty"),
    ],
)
def test_malformed_slurm_text_is_refused_naming_the_part(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_slurm_options(text)


def test_precedence_cell_over_store_config_over_pyproject_over_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    store = project / ".trackrun"
    store.mkdir()
    monkeypatch.chdir(project)
    assert resolve_backend(store) == ("local", {})
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.trackrun]\nbackend = "slurm"\n'
        '[tool.trackrun.slurm]\npartition = "gpu"\ntime = "01:00:00"\ncpus_per_task = 4\n'
    )
    config = load_config(store)
    assert config.backend == "slurm" and config.sources == (project / "pyproject.toml",)
    assert config.slurm == {"partition": "gpu", "time": "01:00:00", "cpus-per-task": "4"}
    (store / "config.toml").write_text('[slurm]\ntime = "02:00:00"\n')
    assert resolve_backend(store) == (
        "slurm",
        {"partition": "gpu", "time": "02:00:00", "cpus-per-task": "4"},
    )
    backend, options = resolve_backend(store, "local", "time=04:00:00 mem=8G")
    assert backend == "local"
    assert options == {"partition": "gpu", "time": "04:00:00", "cpus-per-task": "4", "mem": "8G"}


def test_a_broken_config_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / ".trackrun"
    store.mkdir()
    monkeypatch.chdir(tmp_path)
    (store / "config.toml").write_text("backend = slurm\n")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML"):
        load_config(store)
    (store / "config.toml").write_text("[slurm]\nexclusive = true\n")
    assert load_config(store).slurm == {"exclusive": ""}
    (store / "config.toml").write_text("[slurm]\ntime = true\n")
    with pytest.raises(ConfigError, match="time must be a string or a number"):
        load_config(store)


def test_the_batch_job_gets_the_kernels_secrets_but_not_jupyters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trackrun.jobs.backends.slurm import _submit_env

    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("JUPYTER_TOKEN", "jt-0123456789")
    monkeypatch.setenv("SLURM_JOB_ID", "7")  # the notebook's own job, if it runs in one
    env = _submit_env()
    assert env["HF_TOKEN"] == "hf_abcdefghijklmnop"
    assert "JUPYTER_TOKEN" not in env and "SLURM_JOB_ID" not in env
