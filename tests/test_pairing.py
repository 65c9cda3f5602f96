"""Notebook pairing through a real Jupyter server with jupytext's contents manager."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from trackrun.pairing import check_pairing, check_pairs, sync_pairs
from trackrun.project import init_project

pytestmark = [
    pytest.mark.slow,
    # Third-party noise: jupytext still exports the legacy extension loader name, and the
    # terminals extension registers a websocket without an auth decorator.
    pytest.mark.filterwarnings("ignore:A `_load_jupyter_server_extension`:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Extension endpoints without"),
]

FIRST = "x = 21 * 2\nprint(x)"
SECOND = "y = x + 1\ny"


@pytest.fixture
def jp_root_dir(tmp_path: Path) -> Path:
    """The server's root: a project that ``trackrun init`` set up."""
    root = tmp_path / "project"
    root.mkdir()
    init_project(root)
    return root


@pytest.fixture
def jp_server_config() -> Config:
    # Named explicitly: pytest-jupyter's isolated config dirs do not see the system-wide
    # jupyter_server_config.d/jupytext.json that enables it in a real install.
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyterlab_jupytext": True},
                "allow_unauthenticated_access": False,
            }
        }
    )


def _notebook(second: str = SECOND) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        language_info={"name": "python"},
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell(
            FIRST,
            execution_count=1,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")],
        ),
        nbformat.v4.new_code_cell(
            second,
            execution_count=2,
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": "43"}, execution_count=2
                )
            ],
        ),
    ]
    return nb


async def _save(jp_fetch: Any, name: str, nb: nbformat.NotebookNode) -> None:
    body = json.dumps({"type": "notebook", "format": "json", "content": nb})
    response = await jp_fetch("api", "contents", name, method="PUT", body=body)
    assert response.code in (200, 201)


async def _open(jp_fetch: Any, name: str) -> dict[str, Any]:
    response = await jp_fetch("api", "contents", name, method="GET", params={"content": "1"})
    model: dict[str, Any] = json.loads(response.body)
    return model


def _bump(path: Path, seconds: float) -> None:
    """Make ``path`` look modified ``seconds`` after its pair, as git does when it rewrites it."""
    stamp = path.stat().st_mtime + seconds
    os.utime(path, (stamp, stamp))


async def test_saving_in_jupyterlab_writes_the_paired_script(jp_fetch: Any, jp_root_dir: Path):
    await _save(jp_fetch, "nb.ipynb", _notebook())

    script = (jp_root_dir / "nb.py").read_text()
    assert "format_name: percent" in script
    assert f"# %%\n{FIRST}\n" in script
    assert f"# %%\n{SECOND}\n" in script
    assert "# %% [markdown]\n# # Training" in script
    assert "42" not in script and "43" not in script  # outputs live in the .ipynb only
    on_disk = nbformat.read(jp_root_dir / "nb.ipynb", as_version=4)
    assert on_disk.cells[1].outputs[0]["text"] == "42\n"
    assert check_pairing(jp_root_dir / "nb.ipynb") is None


async def test_editing_the_script_changes_the_notebook_and_keeps_outputs(
    jp_fetch: Any, jp_root_dir: Path
):
    await _save(jp_fetch, "nb.ipynb", _notebook())
    script = jp_root_dir / "nb.py"
    script.write_text(script.read_text().replace("x + 1", "x + 2"))
    _bump(script, 5)

    cells = (await _open(jp_fetch, "nb.ipynb"))["content"]["cells"]

    assert [c["source"] for c in cells] == ["# Training", FIRST, SECOND.replace("1", "2")]
    assert cells[1]["outputs"][0]["text"] == "42\n"  # unchanged cell: output merged back
    message = check_pairing(jp_root_dir / "nb.ipynb")
    assert message is not None and message.startswith(f"{script} ")
    assert "newer" in message and "jupytext --sync" in message


async def test_notebook_rewritten_by_git_is_reported_and_fixed_by_sync(
    jp_fetch: Any, jp_root_dir: Path
):
    await _save(jp_fetch, "nb.ipynb", _notebook())
    notebook, script = jp_root_dir / "nb.ipynb", jp_root_dir / "nb.py"
    # `git checkout other-branch -- nb.ipynb`: only the notebook changes, and it is newer.
    nbformat.write(_notebook(second="y = x + 3\ny"), notebook)
    os.utime(notebook, (script.stat().st_mtime + 60,) * 2)

    with pytest.raises(HTTPClientError) as refused:
        await _open(jp_fetch, "nb.ipynb")
    assert refused.value.code == 400
    assert b"is more recent than" in refused.value.response.body

    message = check_pairing(notebook)
    assert message is not None and check_pairs(jp_root_dir) == [message]
    assert message.startswith(f"{notebook} ") and f"newer than its paired {script}" in message
    assert f"jupytext --sync {notebook}" in message

    lines = sync_pairs(jp_root_dir)
    assert len(lines) == 1 and lines[0].startswith("nb.ipynb: updated nb.py from nb.ipynb")
    assert "(previous version kept in .trackrun/pairing-backup/" in lines[0]

    cells = (await _open(jp_fetch, "nb.ipynb"))["content"]["cells"]
    assert cells[2]["source"] == "y = x + 3\ny"
    assert cells[1]["outputs"][0]["text"] == "42\n"
    assert "y = x + 3" in script.read_text()
    assert check_pairing(notebook) is None and check_pairs(jp_root_dir) == []


def test_sync_writes_missing_scripts_once(jp_root_dir: Path):
    (jp_root_dir / "sub").mkdir()
    nbformat.write(_notebook(), jp_root_dir / "sub" / "a.ipynb")
    (jp_root_dir / ".ipynb_checkpoints").mkdir()
    nbformat.write(_notebook(), jp_root_dir / ".ipynb_checkpoints" / "a-checkpoint.ipynb")

    assert sync_pairs(jp_root_dir) == [
        f"{Path('sub/a.ipynb')}: wrote {Path('sub/a.py')} from {Path('sub/a.ipynb')}"
    ]
    assert f"# %%\n{FIRST}\n" in (jp_root_dir / "sub" / "a.py").read_text()
    assert not (jp_root_dir / ".ipynb_checkpoints" / "a-checkpoint.py").exists()
    assert sync_pairs(jp_root_dir) == [f"{Path('sub/a.ipynb')}: already in sync"]


def test_unpaired_notebooks_are_left_alone(tmp_path: Path):
    nbformat.write(_notebook(), tmp_path / "solo.ipynb")  # no jupytext.toml: not paired

    assert check_pairing(tmp_path / "solo.ipynb") is None
    assert sync_pairs(tmp_path) == [f"no paired notebooks under {tmp_path}"]
    assert not (tmp_path / "solo.py").exists()


HANDWRITTEN = "import torch\n\n\ndef train():\n    pass\n"


async def test_a_same_named_handwritten_script_is_flagged_not_synced(
    jp_fetch: Any, jp_root_dir: Path
):
    nbformat.write(_notebook(), jp_root_dir / "train.ipynb")
    script = jp_root_dir / "train.py"
    script.write_text(HANDWRITTEN)

    assert any(line.startswith(f"warning: {script} was not") for line in init_project(jp_root_dir))
    message = check_pairing(jp_root_dir / "train.ipynb")
    assert message is not None and message.startswith(f"{script} was not written by jupytext")
    assert sync_pairs(jp_root_dir)[0].startswith("skipped train.ipynb: ")
    assert script.read_text() == HANDWRITTEN

    # Why init warns: JupyterLab adopts the script as the notebook's pair and overwrites it.
    await _save(jp_fetch, "train.ipynb", _notebook())
    assert script.read_text() != HANDWRITTEN and f"# %%\n{FIRST}\n" in script.read_text()
