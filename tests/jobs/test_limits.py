"""How many local detached runs start at once: the environment, the project config, the CPU
cores (GPUs do not lower it); and a config that says it wrongly."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trackrun import jobs
from trackrun.config import ConfigError, load_config


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TRACKRUN_MAX_PARALLEL", raising=False)
    monkeypatch.chdir(tmp_path)  # no pyproject.toml of this repository in reach
    root = tmp_path / ".trackrun"
    root.mkdir()
    return root


def test_environment_over_project_config_over_the_cpu_cores(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cores = len(os.sched_getaffinity(0))  # the cores this process may use
    assert jobs.store_max_parallel(store_root) == cores
    (store_root / "config.toml").write_text("max_parallel = 5\n")
    assert jobs.store_max_parallel(store_root) == 5
    monkeypatch.setenv("TRACKRUN_MAX_PARALLEL", "7")
    assert jobs.store_max_parallel(store_root) == 7


def test_the_default_follows_the_affinity_mask_not_the_machine(store_root: Path) -> None:
    # A process pinned to one core (taskset, a container, a SLURM allocation) runs one at a
    # time by default, however many cores the machine has.
    probe = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from trackrun.jobs import store_max_parallel\n"
        "every = store_max_parallel(Path(sys.argv[1]))\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "print(every, store_max_parallel(Path(sys.argv[1])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(store_root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == [str(len(os.sched_getaffinity(0))), "1"]


def test_pyproject_sets_max_parallel_and_the_store_file_wins(
    store_root: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.trackrun]\nmax_parallel = 2\n")
    assert load_config(store_root, tmp_path).max_parallel == 2
    (store_root / "config.toml").write_text("max_parallel = 3\n")
    assert load_config(store_root, tmp_path).max_parallel == 3


@pytest.mark.parametrize("value", ["0", "-1", "1.5", '"4"', "true"])
def test_a_bad_max_parallel_is_named_with_its_fix(store_root: Path, value: str) -> None:
    (store_root / "config.toml").write_text(f"max_parallel = {value}\n")
    with pytest.raises(ConfigError, match=r"config\.toml: `max_parallel` must be a whole number"):
        load_config(store_root)


def test_a_drainer_still_starts_on_a_broken_config_and_says_why(
    store_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (store_root / "config.toml").write_text("max_parallel = 0\n")
    with caplog.at_level(logging.WARNING, logger="trackrun"):
        assert jobs.store_max_parallel(store_root) == len(os.sched_getaffinity(0))
    assert "`max_parallel` must be a whole number" in caplog.text
