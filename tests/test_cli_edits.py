"""``trackrun rename`` and ``trackrun note``, run as real subprocesses against a real store."""

from __future__ import annotations

import os
import subprocess
import sys

import trackrun
from tests.test_cli import cli


def _run() -> str:
    with trackrun.start_run(name="witty-glacier-96", note="at launch") as run:
        trackrun.log(loss=0.5, step=0)
    return run.run_id


def test_rename_then_show_and_ls_tell_the_new_name() -> None:
    run_id = _run()
    out = cli("rename", run_id[:-2], "lr too high").stdout
    assert out.strip() == f"renamed {run_id} to lr too high"
    assert "lr too high" in cli("ls").stdout
    assert cli("show", "lr too high").stdout.splitlines()[0] == f"lr too high  ({run_id})"


def test_note_prints_sets_reads_stdin_and_clears() -> None:
    run_id = _run()
    assert cli("note", run_id).stdout == "at launch\n"
    cli("note", run_id, "diverged at step 40\nthe one in Figure 3")
    assert cli("note", run_id).stdout == "diverged at step 40\nthe one in Figure 3\n"
    show = cli("show", run_id).stdout.splitlines()
    at = show.index("note")
    assert show[at + 1 : at + 3] == ["  diverged at step 40", "  the one in Figure 3"]
    piped = subprocess.run(
        [sys.executable, "-m", "trackrun.cli", "note", run_id, "-"],
        input="from a pipe\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=True,
    )
    assert piped.stdout.strip() == f"set the note of {run_id}"
    assert cli("note", run_id).stdout == "from a pipe\n"
    assert cli("note", run_id, "--clear").stdout.strip() == f"cleared the note of {run_id}"
    assert cli("note", run_id).stdout == ""
    assert "note" not in cli("show", run_id).stdout.splitlines()


def test_bad_input_is_an_error_that_names_the_fix_and_changes_nothing() -> None:
    run_id = _run()
    bad = cli("rename", run_id, "two\nlines", check=False)
    assert bad.returncode == 1
    assert "control character U+000A" in bad.stderr and "Traceback" not in bad.stderr
    both = cli("note", run_id, "text", "--clear", check=False)
    assert both.returncode == 1 and "either a note or --clear" in both.stderr
    missing = cli("rename", "no-such-run", "x", check=False)
    assert missing.returncode == 1 and "no-such-run" in missing.stderr
    assert cli("show", run_id).stdout.startswith("witty-glacier-96")
    assert cli("note", run_id).stdout == "at launch\n"
