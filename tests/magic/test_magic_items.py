"""The magic as a new user meets it: %load_ext binds trackrun, shell-like quoting, a final
expression shown once, a failing cell's error shown once (real kernels)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trackrun.store import Store

from ..kernels import Kernel, error_of, stdout_of
from ..notebooks import make_git_project

pytestmark = pytest.mark.slow


@pytest.fixture
def kernel(tmp_path: Path) -> Kernel:
    project = make_git_project(tmp_path / "project")
    k = Kernel.start(project)
    k.run("%load_ext trackrun")
    yield k  # type: ignore[misc]
    k.shutdown()


def test_load_ext_binds_trackrun(kernel: Kernel) -> None:
    messages = kernel.run("print(trackrun.__name__)")
    assert error_of(messages) is None and stdout_of(messages).strip() == "trackrun"


def test_quoted_options_are_read_like_a_shell(kernel: Kernel, tmp_path: Path) -> None:
    messages = kernel.run(
        '%%track_run --name "my run" --param msg="hello world" --note \'a b\'\nx = 1'
    )
    assert error_of(messages) is None, stdout_of(messages)
    store = Store(tmp_path / "project" / ".trackrun", lease=0)
    (run,) = store.runs().to_dicts()
    assert run["name"] == "my run" and run["params.msg"] == "hello world"


def _outputs(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    return [m for m in messages if m["msg_type"] in ("execute_result", "error", "display_data")]


def test_final_expression_is_shown_once(kernel: Kernel) -> None:
    messages = kernel.run("%%track_run\nx = 40\nx + 2")
    results = [m for m in messages if m["msg_type"] == "execute_result"]
    assert len(results) == 1, results
    assert results[0]["content"]["data"]["text/plain"] == "42"  # type: ignore[index]


def test_failing_cell_shows_its_error_once(kernel: Kernel) -> None:
    messages = kernel.run("%%track_run\ndef f():\n    raise ValueError('boom')\nf()")
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["ename"] == "ValueError" and error["evalue"] == "boom"  # type: ignore[index]
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))  # type: ignore[index]
    assert "raise ValueError" in text and "f()" in text


def test_a_secret_the_cell_prints_is_shown_but_never_kept(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "secret-project")
    token = "hf_s3cr3tValue0123456789"
    k = Kernel.start(project, env={"HF_TOKEN": token})
    try:
        k.run("%load_ext trackrun")
        messages = k.run('%%track_run\nimport os\nprint("token is", os.environ["HF_TOKEN"])')
    finally:
        k.shutdown()
    assert error_of(messages) is None and token in stdout_of(messages)  # the user sees it
    store = project / ".trackrun"
    (log,) = store.glob("runs/*/output.log")
    assert "token is <redacted:HF_TOKEN>" in log.read_text()
    leaks = [p for p in store.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leaks == []


def test_an_auto_param_holding_a_secret_is_stored_redacted(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "key-project")
    key = "sk-live-0123456789abcdefXYZ"
    k = Kernel.start(project, env={"MY_API_KEY": key})
    try:
        k.run("%load_ext trackrun")
        k.run('import os\napi_key = os.environ["MY_API_KEY"]\nlr = 0.1')
        messages = k.run("%%track_run\nprint(len(api_key), lr)")
    finally:
        k.shutdown()
    assert error_of(messages) is None, stdout_of(messages)
    store = project / ".trackrun"
    (run,) = Store(store, lease=0).runs().to_dicts()
    assert run["params.lr"] == 0.1  # read by the cell: an auto-param
    assert str(run["params.api_key"]).startswith("<redacted:"), run["params.api_key"]
    leaks = [p for p in store.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaks == []
