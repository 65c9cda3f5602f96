"""`trackrun init --sync` never loses edits: refusal when both sides changed, backups otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from trackrun.pairing import BACKUP_DIR, sync_pairs
from trackrun.project import init_project

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def _notebook(code: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        jupytext={"formats": "ipynb,py:percent"},
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell(code, execution_count=1, outputs=[]),
    ]
    return nb


def _save_pair(root: Path, code: str) -> None:
    """What JupyterLab with jupytext does on save: both files, same code."""
    nb = _notebook(code)
    nbformat.write(nb, root / "nb.ipynb")
    jupytext.write(nb, root / "nb.py", fmt="py:percent")


def _bump(path: Path, seconds: float) -> None:
    stamp = path.stat().st_mtime + seconds
    os.utime(path, (stamp, stamp))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "T")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "commit.gpgsign", "false")
    init_project(root)
    _save_pair(root, "lr = 0.1")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main")
    git(root, "checkout", "-q", "-b", "other")
    _save_pair(root, "lr = 0.5")
    git(root, "commit", "-q", "-am", "other")
    git(root, "checkout", "-q", "main")
    return root


def _checkout_only_the_notebook(root: Path) -> None:
    git(root, "checkout", "other", "--", "nb.ipynb")
    _bump(root / "nb.ipynb", 60)  # git wrote it last: it is the newer file


@pytest.mark.parametrize("synced_before", [True, False], ids=["state", "git-head"])
def test_sync_refuses_when_both_sides_changed(project: Path, synced_before: bool) -> None:
    if synced_before:
        assert sync_pairs(project) == ["nb.ipynb: already in sync"]
    script = project / "nb.py"
    script.write_text(script.read_text().replace("lr = 0.1", "lr = 0.1\nepochs = 30"))
    _checkout_only_the_notebook(project)
    before = {p: p.read_bytes() for p in (project / "nb.ipynb", script)}

    lines = sync_pairs(project)

    assert len(lines) == 1 and lines[0].startswith("could not sync nb.ipynb: refused: both")
    message = lines[0]
    assert "nb.ipynb (modified 20" in message and "nb.py (modified 20" in message
    assert "+epochs = 30" in message and "-lr = 0.5" in message and "+lr = 0.1" in message
    assert {p: p.read_bytes() for p in before} == before  # nothing overwritten
    assert "epochs = 30" in script.read_text()


def test_sync_of_one_changed_side_keeps_a_backup(project: Path) -> None:
    assert sync_pairs(project) == ["nb.ipynb: already in sync"]
    script = project / "nb.py"
    old_script = script.read_bytes()
    _checkout_only_the_notebook(project)  # the script was not edited: nothing to lose

    lines = sync_pairs(project)

    assert len(lines) == 1 and lines[0].startswith("nb.ipynb: updated nb.py from nb.ipynb")
    assert "lr = 0.5" in script.read_text()
    backups = list((project / BACKUP_DIR).rglob("nb.py"))
    assert len(backups) == 1 and backups[0].read_bytes() == old_script
    assert str(backups[0].relative_to(project)) in lines[0]
    assert sync_pairs(project) == ["nb.ipynb: already in sync"]


def test_cli_exits_non_zero_on_a_refusal(project: Path) -> None:
    script = project / "nb.py"
    script.write_text(script.read_text() + "\nextra = 1\n")
    _checkout_only_the_notebook(project)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "init", "--sync"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    assert "refused: both" in result.stdout and "extra = 1" in script.read_text()


def test_sync_creates_the_store_folder_and_backups_private(project: Path) -> None:
    """Before any store exists, sync's state and backups make ``.trackrun/`` as trackrun
    would: 0700 folders and 0600 files, whatever the umask."""
    assert not (project / ".trackrun").exists()
    umask = os.umask(0o022)
    try:
        sync_pairs(project)  # records the state
        _checkout_only_the_notebook(project)
        sync_pairs(project)  # overwrites nb.py: a backup
    finally:
        os.umask(umask)
    (backup,) = (project / BACKUP_DIR).rglob("nb.py")
    below = backup.relative_to(project).parents[:-2]  # pairing-backup/<time>, pairing-backup
    folders = [project / ".trackrun", *(project / p for p in below)]
    modes = {str(p.relative_to(project)): oct(p.stat().st_mode & 0o7777) for p in folders}
    assert modes == {str(p.relative_to(project)): "0o700" for p in folders}
    for file in (backup, project / ".trackrun" / "pairing-state.json"):
        assert oct(file.stat().st_mode & 0o777) == "0o600", file
