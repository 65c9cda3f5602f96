"""``POST runs/{run_id}/reproduce`` and the ``reproduction`` of a run's detail, on a real
Jupyter server, with runs made by real script processes and reproduced by the real CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import trackrun
from tests.reproduction.helpers import child_env, runs_in
from tests.server.common import check_body, get

ROUTE = "runs/{run_id}/reproduce"

#: A deterministic script run; it sleeps inside the run so that a reproduction of it is
#: still running when the test asks twice.
SCRIPT = (
    "import os\n"
    "import time\n"
    "import trackrun\n"
    "with trackrun.start_run(name='story-tiny', params={'k': 2}):\n"
    "    time.sleep(1.5)\n"
    "    for i in range(4):\n"
    "        trackrun.log(v=i * 0.1 + 2, step=i)\n"
    "    trackrun.log(saw_jupyter_token=float('JUPYTER_TOKEN' in os.environ), step=0)\n"
)

#: A script that needs a file next to it before it starts its run.
NEEDS_A_FILE = (
    "import trackrun\n"
    "scale = float(open('scale.txt').read())\n"
    "with trackrun.start_run(name='needs-a-file'):\n"
    "    trackrun.log(v=scale, step=0)\n"
)


@pytest.fixture(autouse=True)
def this_checkout_in_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's reproduce process, and the script it runs, import this trackrun."""
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])


def script_run(folder: Path, store: Path, source: str, name: str = "train.py") -> str:
    """Run ``source`` as ``python name`` in ``folder`` (a real process); its run's id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(source)
    before = {r["run_id"] for r in runs_in(store)} if (store / "runs").is_dir() else set()
    env = {**os.environ, **child_env()}
    subprocess.run([sys.executable, name], cwd=folder, env=env, check=True, timeout=120)
    (run_id,) = [r["run_id"] for r in runs_in(store) if r["run_id"] not in before]
    return str(run_id)


async def post_reproduce(jp_fetch: Any, run_id: str) -> tuple[int, dict[str, Any]]:
    """POST the reproduction of ``run_id``; its status and body, checked against the contract."""
    response = await jp_fetch(
        "trackrun", "api", "runs", run_id, "reproduce", method="POST", body="{}",
        raise_error=False,
    )  # fmt: skip
    check_body(ROUTE, "post", response.code, response.headers["Content-Type"], response.body)
    return response.code, json.loads(response.body)


async def detail(jp_fetch: Any, run_id: str) -> dict[str, Any]:
    response = await jp_fetch("trackrun", "api", "runs", run_id)
    check_body(
        "runs/{run_id}", "get", response.code, response.headers["Content-Type"], response.body
    )
    return dict(json.loads(response.body))


async def until_settled(jp_fetch: Any, run_id: str, timeout: float = 180) -> dict[str, Any]:
    """Poll the run's detail until its reproduction is no longer running; its reproduction."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = (await detail(jp_fetch, run_id))["reproduction"]
        if state is not None and state["state"] != "running":
            return dict(state)
        await asyncio.sleep(0.2)
    raise AssertionError(f"the reproduction of {run_id} still runs after {timeout} s")


@pytest.mark.slow
async def test_reproduce_runs_in_the_background_and_records_identical(
    jp_fetch: Any, isolated_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = script_run(tmp_path / "project", isolated_store, SCRIPT)
    assert (await detail(jp_fetch, run_id))["reproduction"] is None  # never reproduced
    # The server's own credentials never reach the script (it would log 1.0, not identical).
    monkeypatch.setenv("JUPYTER_TOKEN", "the-server-token")

    code, answer = await post_reproduce(jp_fetch, run_id)
    assert code == 202, answer
    assert answer["run_id"] == run_id and answer["state"] == "started"
    # The server answered at once: the reproduction runs on, and a reloaded page finds it.
    running = (await detail(jp_fetch, run_id))["reproduction"]
    assert running["state"] == "running" and running["started_at"] == answer["started_at"]
    assert running["last"] is None
    code, refused = await post_reproduce(jp_fetch, run_id)
    assert code == 409 and refused["code"] == "invalid_run_state", refused
    assert "already being reproduced" in refused["message"]

    state = await until_settled(jp_fetch, run_id)
    assert state["state"] == "done", state
    last = state["last"]
    assert last["verdict"] == "identical" and last["text"] == "identical", last
    assert last["original"] == run_id and last["max_rel_diff"] == 0 and last["reasons"] == []
    assert last["at"] >= answer["started_at"]
    new_id = last["reproduction"]
    (new,) = [r for r in runs_in(isolated_store) if r.get("reproduces") == run_id]
    assert new["run_id"] == new_id and new["name"] == "story-tiny"
    # Both runs carry the verdict: the original is tagged reproduced, the new one links back.
    original = await detail(jp_fetch, run_id)
    assert "reproduced:identical" in original["tags"]
    reproduction = await detail(jp_fetch, new_id)
    assert reproduction["status"] == "finished"
    linked = reproduction["reproduction"]
    assert linked["state"] == "done" and linked["last"]["at"] >= answer["started_at"]
    assert {**linked["last"], "at": None} == {**last, "at": None}  # appended a moment apart
    assert "reproduction:identical" in reproduction["tags"]
    folder = isolated_store / "reproductions" / run_id
    assert "start_run" in (folder / "reproduce.py").read_text()
    assert "reproduces=" in (folder / "reproduce.py").read_text()

    # Once done it can be reproduced again: the folder is replaced, a third run made.
    code, again = await post_reproduce(jp_fetch, run_id)
    assert code == 202, again
    state = await until_settled(jp_fetch, run_id)
    assert state["state"] == "done" and state["last"]["verdict"] == "identical"
    assert state["last"]["reproduction"] not in (run_id, new_id)
    assert len(runs_in(isolated_store)) == 3


@pytest.mark.slow
async def test_a_script_that_fails_is_reported_in_plain_words(
    jp_fetch: Any, isolated_store: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "scale.txt").write_text("2.5\n")
    run_id = script_run(project, isolated_store, NEEDS_A_FILE)
    (project / "scale.txt").unlink()  # the script cannot run again as it did

    code, answer = await post_reproduce(jp_fetch, run_id)
    assert code == 202, answer
    state = await until_settled(jp_fetch, run_id)
    # A script that fails before its run starts is a verdict (docs/reproduce.md): different,
    # on the original alone, with the script's own words.
    assert state["state"] == "done", state
    last = state["last"]
    assert last["verdict"] == "different" and last["reproduction"] is None, state
    (reason,) = last["reasons"]
    assert "the script failed before its run started (exit status 1)" in reason, reason
    assert "FileNotFoundError" in reason and "scale.txt" in reason, reason
    assert str(isolated_store) not in reason  # the browser is told <store>, not the path
    assert [r["run_id"] for r in runs_in(isolated_store)] == [run_id]
    # A failure does not block the next try.
    (project / "scale.txt").write_text("2.5\n")
    code, answer = await post_reproduce(jp_fetch, run_id)
    assert code == 202, answer
    state = await until_settled(jp_fetch, run_id)
    assert state["state"] == "done" and state["last"]["verdict"] == "identical", state


async def test_refusals_start_nothing(jp_fetch: Any, isolated_store: Path, tmp_path: Path) -> None:
    with trackrun.start_run(name="logged-from-here") as logged:  # no script file to record
        trackrun.log(v=1.0, step=0)
    no_code = logged.run_id
    active = trackrun.start_run(name="still-running")
    try:
        code, body = await post_reproduce(jp_fetch, "20261126-000000-abcdef")
        assert (code, body["code"]) == (404, "run_not_found"), body
        code, body = await post_reproduce(jp_fetch, "not-a-run")
        assert (code, body["code"]) == (400, "invalid_run_id"), body
        code, body = await post_reproduce(jp_fetch, no_code)
        assert code == 400, body
        assert "its source was not recorded" in body["message"], body
        code, body = await post_reproduce(jp_fetch, active.run_id)
        assert (code, body["code"]) == (409, "invalid_run_state"), body
        assert "still running" in body["message"]
    finally:
        active.finish()
    assert not (isolated_store / "reproductions").exists()
    assert (await detail(jp_fetch, no_code))["reproduction"] is None
    assert len((await get(jp_fetch, "runs"))["runs"]) == 2
