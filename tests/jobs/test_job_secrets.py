"""Secrets and the files of a detached job: errors are redacted, and values a cell keeps in
a variable (which a pickle cannot redact) are named at launch and when outputs are saved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trackrun import jobs
from trackrun.layout import RunPaths
from trackrun.run import Run

pytestmark = pytest.mark.slow  # each test runs a job process

HF_TOKEN = "hf_" + "Zz9Yy8Xx7" * 4


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)


def run_job(store: Path, source: str, inputs: jobs.FrozenInputs) -> tuple[RunPaths, str]:
    """Write a detached run of ``source`` with ``inputs`` and run its job process here;
    returns its paths and what the job wrote. Under its supervisor both streams are the run's
    output.log, and the job writes both through one log on its stdout's file."""
    run = Run.start(store, launch={"kind": "detached", "detached": True}, status="queued")
    jobs.write_job(run.paths, source, inputs, ["kept"], None, 0, None)
    run.release()
    result = subprocess.run(
        [sys.executable, "-c", "from trackrun.jobs.runner import main; main()", str(run.dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.paths, result.stdout + result.stderr


def files_holding(store: Path, secret: str) -> list[str]:
    return sorted(
        str(p.relative_to(store)).split("/", 2)[-1]
        for p in store.rglob("*")
        if p.is_file() and secret.encode() in p.read_bytes()
    )


def test_a_job_error_quoting_a_secret_is_redacted(tmp_path: Path, secret_env: None) -> None:
    store = tmp_path / "store"
    source = "import os\nraise ValueError('bad token ' + os.environ['HF_TOKEN'])"
    paths, _ = run_job(store, source, jobs.freeze_inputs({}, []))
    error = (paths.job / "error.txt").read_text()
    assert "ValueError: bad token <redacted:HF_TOKEN>" in error, error
    assert files_holding(store, HF_TOKEN) == []


def test_secrets_kept_in_variables_are_named_at_launch_and_save(
    tmp_path: Path, secret_env: None
) -> None:
    """A pickle holds values, which cannot be redacted: the user is told which names hold
    which secret variable's value, and only the two pickles hold it."""
    import os

    frozen = jobs.freeze_inputs({"token": os.environ["HF_TOKEN"], "n": 3}, ["token", "n"])
    assert frozen.warnings == [
        "trackrun: the job's inputs hold the value of HF_TOKEN (in `token`); it is stored in "
        "job/inputs.pkl, readable only by you. Read it from os.environ inside the cell to "
        "keep it off the disk."
    ]
    paths, output = run_job(tmp_path / "store", "kept = {'auth': token, 'n': n}", frozen)
    assert (paths.job / "outputs.pkl").exists(), output
    assert (
        "trackrun: the job's outputs hold the value of HF_TOKEN (in `kept`, `token`); it is "
        "stored in job/outputs.pkl, readable only by you." in output
    ), output
    assert files_holding(tmp_path / "store", HF_TOKEN) == ["job/inputs.pkl", "job/outputs.pkl"]
    assert jobs.freeze_inputs({"n": 3}, ["n"]).warnings == []
