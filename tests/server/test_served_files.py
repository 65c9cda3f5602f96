"""Served run files (code, artifacts, checkpoints): only regular files inside the real run
folder, never through a symlink or a ../ on the way (issue 15, case 5)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import trackrun
from tests.server.common import get, make_runs

SECRET = b"top secret"
#: A run id with no run behind it, for a run folder planted by hand.
PLANTED_ID = "20261126-000001-abcdef"


async def fetch_file(jp_fetch: Any, run_id: str, folder: str, name: str) -> Any:
    return await jp_fetch("trackrun", "api", "runs", run_id, folder, name, raise_error=False)


def assert_refused(response: Any) -> None:
    """Refused with the API's error shape, and nothing of the outside file in the answer."""
    assert response.code in (403, 404), (response.code, response.body[:200])
    body = json.loads(response.body)
    assert set(body) >= {"message", "code"}, body
    assert SECRET not in response.body and b"root:" not in response.body


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the store holding a secret, and a copy of /etc/passwd's first line."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    (folder / "passwd").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    return folder


async def test_run_files_are_served(jp_fetch: Any) -> None:
    run_id = make_runs()[0]
    code = await fetch_file(jp_fetch, run_id, "code", "cell.py")
    assert code.code == 200 and code.body == b"lr = 0.01\n"
    assert code.headers["Content-Type"].startswith("text/plain")
    artifact = await fetch_file(jp_fetch, run_id, "artifacts", "weights.txt")
    assert artifact.code == 200 and artifact.body == b"weights\n"
    assert "attachment" in artifact.headers["Content-Disposition"]


async def test_checkpoints_are_served(jp_fetch: Any) -> None:
    with trackrun.start_run(name="ckpt") as run:
        saved = run.checkpoint({"w": 1}, step=3)
    response = await fetch_file(jp_fetch, run.run_id, "checkpoints", saved.name)
    assert response.code == 200 and response.body == saved.read_bytes()


@pytest.mark.parametrize("folder", ["code", "artifacts", "checkpoints"])
async def test_symlinked_folder_is_refused(
    jp_fetch: Any, isolated_store: Path, outside: Path, folder: str
) -> None:
    run_id = make_runs()[0]
    target = isolated_store / "runs" / run_id / folder
    if target.exists():
        os.rename(target, target.with_name(folder + ".real"))
    target.symlink_to(outside, target_is_directory=True)
    for name in ("secret.txt", "passwd"):
        assert_refused(await fetch_file(jp_fetch, run_id, folder, name))
    if folder == "code":
        assert (await get(jp_fetch, f"runs/{run_id}"))["code_files"] == []


async def test_symlinked_folder_to_etc_is_refused(jp_fetch: Any, isolated_store: Path) -> None:
    run_id = make_runs()[0]
    code = isolated_store / "runs" / run_id / "code"
    os.rename(code, code.with_name("code.real"))
    code.symlink_to("/etc", target_is_directory=True)
    assert_refused(await fetch_file(jp_fetch, run_id, "code", "passwd"))


async def test_run_folder_that_is_a_symlink_is_refused(
    jp_fetch: Any, isolated_store: Path, outside: Path
) -> None:
    make_runs()
    (outside / "code").mkdir()
    (outside / "code" / "secret.txt").write_bytes(SECRET)
    (isolated_store / "runs" / PLANTED_ID).symlink_to(outside, target_is_directory=True)
    assert_refused(await fetch_file(jp_fetch, PLANTED_ID, "code", "secret.txt"))


@pytest.mark.parametrize("folder", ["code", "artifacts", "checkpoints"])
async def test_symlinked_file_is_refused(
    jp_fetch: Any, isolated_store: Path, outside: Path, folder: str
) -> None:
    run_id = make_runs()[0]
    base = isolated_store / "runs" / run_id / folder
    base.mkdir(exist_ok=True)
    (base / "link.txt").symlink_to(outside / "secret.txt")
    (base / "passwd").symlink_to("/etc/passwd")
    for name in ("link.txt", "passwd"):
        assert_refused(await fetch_file(jp_fetch, run_id, folder, name))
    if folder == "code":
        assert (await get(jp_fetch, f"runs/{run_id}"))["code_files"] == ["cell.py"]


async def test_fifo_is_refused_without_blocking(jp_fetch: Any, isolated_store: Path) -> None:
    run_id = make_runs()[0]
    os.mkfifo(isolated_store / "runs" / run_id / "artifacts" / "pipe")
    assert_refused(await fetch_file(jp_fetch, run_id, "artifacts", "pipe"))


@pytest.mark.parametrize(
    "target",
    [
        "..%2Frun.json",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "..",
        "%2e%2e%2frun.json",
        ".hidden",
    ],
)
@pytest.mark.parametrize("folder", ["code", "artifacts", "checkpoints"])
async def test_traversal_is_refused(jp_fetch: Any, target: str, folder: str) -> None:
    run_id = make_runs()[0]
    response = await fetch_file(jp_fetch, run_id, folder, urllib.parse.unquote(target))
    # Tornado may refuse a decoded "/" in the path itself (no route: Jupyter's 404 page);
    # every answer that reaches trackrun must be its JSON error.
    assert response.code in (400, 403, 404), response.code
    assert SECRET not in response.body and b"root:" not in response.body
    assert b'"run_id"' not in response.body  # not run.json


async def test_symlinked_log_is_never_followed(
    jp_fetch: Any, isolated_store: Path, outside: Path
) -> None:
    run_id = make_runs()[0]
    log = isolated_store / "runs" / run_id / "output.log"
    log.unlink()
    log.symlink_to(outside / "secret.txt")
    for offset in (0, -10):
        response = await jp_fetch(
            "trackrun", "api", "runs", run_id, "log", params={"offset": offset}
        )
        assert SECRET not in response.body
        answer = json.loads(response.body)
        assert answer["text"] == "" and answer["size"] == 0


@pytest.mark.parametrize("what", ["file", "folder"])
async def test_symlinked_code_is_missing_from_the_code_diff(
    jp_fetch: Any, isolated_store: Path, outside: Path, what: str
) -> None:
    ids = make_runs()
    code = isolated_store / "runs" / ids[0] / "code"
    (outside / "cell.py").write_bytes(SECRET + b"\n")
    (outside / "notebook.py").write_bytes(SECRET + b"\n")
    if what == "file":
        (code / "cell.py").unlink()
        (code / "cell.py").symlink_to(outside / "cell.py")
        (code / "notebook.py").symlink_to(outside / "notebook.py")
    else:
        os.rename(code, code.with_name("code.real"))
        code.symlink_to(outside, target_is_directory=True)
    response = await jp_fetch("trackrun", "api", "compare", params={"ids": ",".join(ids)})
    assert SECRET not in response.body
    cell = json.loads(response.body)["code_diff"]["cell"]
    assert f"{ids[0]}: no cell code recorded" in cell and "+lr = 0.001" in cell


async def test_run_detail_never_follows_a_symlinked_file(
    jp_fetch: Any, isolated_store: Path, outside: Path
) -> None:
    """run.json, job/outputs.json, job/handle.json and the supervisor's events, each a
    symlink to a file whose fields would show, leak none of them into GET runs/{id}."""
    run_id = make_runs()[0]
    root = isolated_store / "runs" / run_id
    record = json.loads((root / "run.json").read_text())
    record["launch"] = {"kind": "detached", "detached": True}
    (root / "run.json").write_text(json.dumps(record))
    trackrun.api.get_store().reindex()
    secret = SECRET.decode()
    planted = {
        "run.json": {"launch": {"secret": secret}, "provenance": {"git": secret}},
        "outputs.json": {"secret": secret},
        "handle.json": {"backend": secret, "run_id": run_id, "ident": {"job_id": secret}},
    }
    for name, value in planted.items():
        (outside / name).write_text(json.dumps(value))
    attempt = {"seq": 1, "type": "attempt", "attempt": 1, "state": secret, "time": 1.0}
    (outside / "events.supervisor.jsonl").write_text(json.dumps(attempt) + "\n")
    (root / "job").mkdir(exist_ok=True)
    for name in ("outputs.json", "handle.json"):
        (root / "job" / name).symlink_to(outside / name)
    (root / "events.supervisor.jsonl").symlink_to(outside / "events.supervisor.jsonl")
    (root / "run.json").unlink()
    (root / "run.json").symlink_to(outside / "run.json")
    response = await jp_fetch("trackrun", "api", "runs", run_id)
    assert response.code == 200 and SECRET not in response.body
    detail = json.loads(response.body)
    assert detail["outputs"] is None and detail["job"] is None and detail["attempts"] == []


async def test_run_folder_that_is_a_symlink_is_never_indexed(
    jp_fetch: Any, isolated_store: Path, tmp_path: Path
) -> None:
    """A run folder copied elsewhere and linked back into runs/ is not a run of the store:
    nothing of it is listed or served."""
    ids = make_runs()
    copy = tmp_path / "elsewhere"
    shutil.copytree(isolated_store / "runs" / ids[0], copy)
    record = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**record, "run_id": PLANTED_ID, "name": "planted"}))
    (isolated_store / "runs" / PLANTED_ID).symlink_to(copy, target_is_directory=True)
    listed = await get(jp_fetch, "runs")
    assert sorted(r["run_id"] for r in listed["runs"]) == sorted(ids)
    response = await jp_fetch("trackrun", "api", "runs", PLANTED_ID, raise_error=False)
    assert response.code == 404
    log = await jp_fetch("trackrun", "api", "runs", PLANTED_ID, "log", raise_error=False)
    assert b"hello" not in log.body
