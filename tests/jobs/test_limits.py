"""How many local detached runs start at once: the environment, the project config, the
visible GPUs, the CPU cores; and a config that says it wrongly."""

from __future__ import annotations

import logging
import os
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


def test_environment_over_project_config_over_gpus_over_cores(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    half_the_cores = max(1, (os.cpu_count() or 2) // 2)
    assert jobs.store_max_parallel(store_root, []) == half_the_cores
    assert jobs.store_max_parallel(store_root, ["0", "1", "2"]) == 3  # one per visible GPU
    (store_root / "config.toml").write_text("max_parallel = 5\n")
    assert jobs.store_max_parallel(store_root, ["0", "1", "2"]) == 5
    monkeypatch.setenv("TRACKRUN_MAX_PARALLEL", "7")
    assert jobs.store_max_parallel(store_root, ["0"]) == 7


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
        assert jobs.store_max_parallel(store_root, ["0", "1"]) == 2
    assert "`max_parallel` must be a whole number" in caplog.text
