"""``!cmd`` lines in a reproduction script behave as IPython's: the script, run in a real
process, prints what a real IPython shell prints for the same cells."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trackrun.reproduction.folder import plan_folder
from trackrun.reproduction.script import build_script

from .helpers import child_env, recorded

#: Earlier cells: each defines what the tracked cell reads, so the slice keeps them all.
HISTORY = [
    "n = 21",
    "home = !echo $HOME",  # no Python name HOME: the shell expands it
    "firsts = !awk '{print $1}' table.txt",  # braces that are not Python
    "pair = !echo a b",
    "doubled = !echo {n*2} $$HOME",  # $$ is a literal $ once everything expands
    "def show(word):\n    !echo $word {n}\n    !echo $word $HOME {n}",
]
#: The tracked cell: the same forms again, then everything printed.
CELL = (
    "!echo $HOME\n"
    "!awk '{print $1}' table.txt\n"
    "x = !echo a b\n"
    "!echo {n*2}\n"
    "print(x, len(x), home, firsts, pair, doubled)\n"
    "show('w')"
)


def in_ipython(folder: Path, cells: list[str], env: dict[str, str]) -> str:
    """What a real IPython shell prints running ``cells`` in ``folder``."""
    driver = (
        "import json, sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "for cell in json.loads(sys.argv[1]):\n"
        "    assert shell.run_cell(cell).success, cell\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver, json.dumps(cells)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\r\n", "\n")  # IPython runs `!cmd` in a terminal


@pytest.mark.slow
def test_shell_lines_print_what_ipython_prints(tmp_path: Path) -> None:
    (tmp_path / "table.txt").write_text("alpha 1\nbeta 2\n")
    env = {**os.environ, **child_env(), "HOME": str(tmp_path / "home")}
    env["TRACKRUN_HOME"] = str(tmp_path / "store")
    expected = in_ipython(tmp_path, [*HISTORY, CELL], env)
    assert f"{tmp_path}/home\nalpha\nbeta\n42\n" in expected  # the test means what it says

    record = recorded(tmp_path, HISTORY, "%%track_run\n" + CELL)
    script = build_script(record)
    assert script.slice is not None
    assert [i.number for i in script.slice.kept] == [1, 2, 3, 4, 5, 6]
    (tmp_path / "reproduce.py").write_text(script.text)
    done = subprocess.run(
        [sys.executable, "reproduce.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_a_shell_command_changes_no_python_state(tmp_path: Path) -> None:
    """The script's own modules are known: `subprocess`/`os` calls are library calls, so an
    earlier `!pip --version` is not needed by a cell that runs a command too."""
    history = ["import os", "%env MODE=fast", "!pip --version", "x = 1"]
    cell = "%%track_run\n!echo hi\nprint(os.environ['MODE'])"
    record = recorded(tmp_path, history, cell)
    script, _, files = plan_folder(record)
    assert script.slice is not None
    assert [i.number for i in script.slice.kept] == [1, 2]
    assert "pip --version" not in script.text.split('"""', 2)[2]  # only in the header
    inputs = files["inputs.md"]
    assert "None: every name the cell reads is defined above it." in inputs
    assert "subprocess" not in inputs and "`os`" not in inputs
