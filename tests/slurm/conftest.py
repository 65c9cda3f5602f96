"""The real single-node SLURM cluster (.ci/slurm-up) for the tests marked ``slurm``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trackrun.jobs.backends import Handle
from trackrun.store import Store

#: The folder .ci/slurm-up keeps the cluster's config, state and logs in.
SLURM_DIR = Path(os.environ.get("TRACKRUN_SLURM_DIR", "/tmp/trackrun-slurm"))
REPO = Path(__file__).resolve().parents[2]


def _cluster_problem(conf: str) -> str | None:
    if not Path(conf).exists():
        return f"no SLURM config at {conf}"
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"],
            capture_output=True,
            text=True,
            timeout=15,
            env={**os.environ, "SLURM_CONF": conf},
        )
    except FileNotFoundError:
        return "sinfo is not installed (apt-get install slurm-wlm munge)"
    except subprocess.TimeoutExpired:
        return "slurmctld does not answer"
    state = out.stdout.strip().splitlines()[:1]
    if not state or state[0] not in {"idle", "mix", "alloc"}:
        return f"the node is not up ({out.stdout.strip() or out.stderr.strip()})"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> Path:
    """The running cluster's folder, with SLURM_CONF pointing at it. Skips (saying how to
    start it) when it is not up outside CI; in CI (CI=true) a cluster that is not up fails."""
    conf = os.environ.get("SLURM_CONF") or str(SLURM_DIR / "slurm.conf")
    problem = _cluster_problem(conf)
    if problem:
        message = f"the SLURM test cluster is not up: {problem}; start it with .ci/slurm-up"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    os.environ["SLURM_CONF"] = conf  # for this process and every kernel and CLI it starts
    return SLURM_DIR


@pytest.fixture
def cluster(slurm_cluster: Path, store_root: Path) -> Iterator[Path]:
    """The cluster for one test; afterwards every job of the test's store is cancelled."""
    yield slurm_cluster
    ids = []
    for run in (store_root / "runs").glob("*") if (store_root / "runs").exists() else []:
        handle = Handle.load(Store(store_root, lease=0).paths.run(run.name))
        if handle and handle.backend == "slurm":
            ids += [str(i) for i in handle.ident.get("job_ids") or []]
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=20)


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".trackrun"


def wait_until(check: Callable[[], object], what: str, timeout: float = 90) -> object:
    """Wait until ``check()`` returns something true; return it. Fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cli(store: str, *args: str, timeout: float = 60) -> str:
    """Run the trackrun command on ``store``; return its stdout (raises on a non-zero exit)."""
    result = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "--store", store, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"trackrun {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def scontrol(*args: str) -> str:
    result = subprocess.run(
        ["scontrol", *args], capture_output=True, text=True, timeout=20, check=True
    )
    return result.stdout
