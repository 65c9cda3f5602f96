"""``init_project``: the pairing config, the .gitignore entry, the opt-in IPython startup file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupytext.config import load_jupytext_config

from trackrun.errors import TrackrunError
from trackrun.project import IPYTHON_STARTUP, init_project

STARTUP = Path("profile_default", "startup", "00-trackrun.py")
PROBE = (
    "import json, sys; ip = get_ipython(); print('PROBE ' + json.dumps({"
    "'imported': 'trackrun' in sys.modules, "
    "'cell_magic': ip.find_cell_magic('track_run') is not None}))"
)


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _ipython(
    ipython_dir: Path, *, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Start a real IPython on ``ipython_dir``, run PROBE, and exit."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-m", "IPython", f"--ipython-dir={ipython_dir}", "--colors=NoColor"]
        + ["--HistoryManager.enabled=False", "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _probe(result: subprocess.CompletedProcess[str]) -> dict[str, bool]:
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, result.stdout + result.stderr
    probe: dict[str, bool] = json.loads(lines[-1].removeprefix("PROBE "))
    return probe


# -- pairing config and .gitignore ---------------------------------------------------------
def test_init_pairs_notebooks_and_ignores_the_store(tmp_path: Path):
    lines = init_project(tmp_path)

    assert len(lines) == 2 and lines[0].startswith("wrote jupytext.toml")
    config = load_jupytext_config(str(tmp_path / "sub" / "nb.ipynb"))  # as jupytext finds it
    assert config.formats == ["ipynb,py:percent"]
    assert (tmp_path / ".gitignore").read_text() == ".trackrun/\n"
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        (tmp_path / ".trackrun").mkdir()
        (tmp_path / ".trackrun" / "index.duckdb").touch()
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", ".trackrun/index.duckdb"], cwd=tmp_path
        )
        assert ignored.returncode == 0


def test_second_init_changes_nothing_and_says_so(tmp_path: Path):
    init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")
    before = _files(tmp_path)

    lines = init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")

    assert _files(tmp_path) == before
    assert lines[0].startswith("kept the jupytext configuration in jupytext.toml")
    assert lines[1] == ".gitignore already ignores .trackrun/"
    assert lines[2].endswith("already there")


def test_existing_gitignore_gets_one_line_appended(tmp_path: Path):
    (tmp_path / ".gitignore").write_text("*.pyc")  # no trailing newline

    assert init_project(tmp_path)[1] == "added .trackrun/ to .gitignore (the local run store)"
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.trackrun/\n"


def test_gitignore_that_already_ignores_the_store_is_left_alone(tmp_path: Path):
    (tmp_path / ".gitignore").write_text("# runs\n/.trackrun\n")

    assert init_project(tmp_path)[1] == ".gitignore already ignores .trackrun/"
    assert (tmp_path / ".gitignore").read_text() == "# runs\n/.trackrun\n"


def test_existing_jupytext_config_is_not_overwritten(tmp_path: Path):
    (tmp_path / "jupytext.toml").write_text('formats = "ipynb,md"\n')

    line = init_project(tmp_path)[0]

    assert (tmp_path / "jupytext.toml").read_text() == 'formats = "ipynb,md"\n'
    assert "kept" in line and "ipynb,md" in line


def test_pyproject_jupytext_section_counts_as_config(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.jupytext]\nformats = "ipynb,py:light"\n')

    line = init_project(tmp_path)[0]

    assert not (tmp_path / "jupytext.toml").exists()
    assert "pyproject.toml" in line and "ipynb,py:light" in line


def test_hidden_jupytext_config_is_kept_with_a_warning(tmp_path: Path):
    (tmp_path / ".jupytext.toml").write_text('formats = "ipynb,py:percent"\n')

    line = init_project(tmp_path)[0]

    assert not (tmp_path / "jupytext.toml").exists()
    assert "JupyterLab ignores hidden config files" in line


def test_init_needs_an_existing_folder(tmp_path: Path):
    with pytest.raises(TrackrunError, match="not a folder"):
        init_project(tmp_path / "missing")


# -- IPython startup file -------------------------------------------------------------------
def test_startup_file_is_written_only_when_asked(tmp_path: Path):
    ipython_dir = tmp_path / "ipy"
    project = tmp_path / "project"
    project.mkdir()

    lines = init_project(project, ipython_dir=ipython_dir)
    assert not ipython_dir.exists() and len(lines) == 2

    lines = init_project(project, ipython_startup=True, ipython_dir=ipython_dir)
    assert (ipython_dir / STARTUP).read_text() == IPYTHON_STARTUP
    assert lines[2].startswith(f"wrote {ipython_dir / STARTUP}")


def test_startup_file_defaults_to_ipythondir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "from-env"))

    init_project(tmp_path, ipython_startup=True)

    assert (tmp_path / "from-env" / STARTUP).is_file()


def test_startup_file_edited_by_the_user_is_left_alone(tmp_path: Path):
    init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")
    (tmp_path / "ipy" / STARTUP).write_text("# mine\n")

    line = init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")[2]

    assert line.startswith("left") and (tmp_path / "ipy" / STARTUP).read_text() == "# mine\n"


@pytest.mark.slow
def test_real_ipython_loads_the_magic_through_the_startup_file(tmp_path: Path):
    ipython_dir = tmp_path / "ipy"
    ipython_dir.mkdir()  # IPython will not start on an ipython dir that does not exist
    assert _probe(_ipython(ipython_dir)) == {"imported": False, "cell_magic": False}

    init_project(tmp_path, ipython_startup=True, ipython_dir=ipython_dir)
    result = _ipython(ipython_dir)

    assert _probe(result) == {"imported": True, "cell_magic": True}
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_startup_file_keeps_a_kernel_without_trackrun_quiet(tmp_path: Path):
    init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")
    # A module that fails exactly as an absent package does, shadowing the installed one.
    fake = tmp_path / "env"
    fake.mkdir()
    (fake / "trackrun.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'trackrun'\", name='trackrun')\n"
    )

    result = _ipython(tmp_path / "ipy", pythonpath=fake)

    assert _probe(result) == {"imported": False, "cell_magic": False}
    others = [line for line in result.stdout.splitlines() if not line.startswith("PROBE ")]
    assert others == [] and result.stderr == ""


@pytest.mark.slow
def test_startup_file_reports_a_broken_trackrun_in_one_line(tmp_path: Path):
    init_project(tmp_path, ipython_startup=True, ipython_dir=tmp_path / "ipy")
    fake = tmp_path / "env"
    fake.mkdir()
    (fake / "trackrun.py").write_text("raise RuntimeError('broken install')\n")

    result = _ipython(tmp_path / "ipy", pythonpath=fake)

    assert _probe(result)["cell_magic"] is False
    output = result.stdout + result.stderr
    assert "trackrun: %load_ext trackrun failed: RuntimeError('broken install')" in output
    assert "Traceback" not in output
