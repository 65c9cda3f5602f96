"""Reproducing every kind of recorded run with a real kernel or a real script process:
method-call mutations, scripts, start_run in a notebook, outside files, unseeded runs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..kernels import Kernel
from .helpers import api_events, child_env, cli, project, run_cells, runs_in

SETUP = "%load_ext trackrun\nimport torch\nimport trackrun"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return project(tmp_path)


@pytest.fixture
def kernel(workdir: Path) -> Iterator[Kernel]:
    k = Kernel.start(workdir, child_env())
    yield k
    k.shutdown()


def reproduce_run(store: Path, run_id: str, out: Path) -> subprocess.CompletedProcess[str]:
    return cli("--store", str(store), "reproduce", run_id, "-o", str(out), "--run")


@pytest.mark.slow
def test_mutation_by_method_call_and_augmented_assignment_are_kept(
    workdir: Path, kernel: Kernel
) -> None:
    run_cells(
        kernel,
        [
            SETUP,
            "torch.manual_seed(3)\nmodel = torch.nn.Linear(4, 1)",
            "saved = {k: v * 0 + 0.5 for k, v in model.state_dict().items()}",
            "model.load_state_dict(saved)",  # changes model through a method call
            "inputs = torch.ones(8, 4)",
            "inputs *= 3",  # changes inputs in place
            "%%track_run\nout = model(inputs)\ntrackrun.log(mean=out.mean().item(), step=0)",
        ],
    )
    store = workdir / ".trackrun"
    (run,) = runs_in(store)
    out = workdir.parent / "repro"
    result = reproduce_run(store, run["run_id"], out)
    assert result.returncode == 0, result.stdout + result.stderr
    script = (out / "reproduce.py").read_text()
    assert "model.load_state_dict(saved)" in script and "inputs *= 3" in script
    assert "verdict: identical" in result.stdout


@pytest.mark.slow
def test_script_run_records_its_code_and_reproduces(workdir: Path, isolated_store: Path) -> None:
    (workdir / "train.py").write_text(
        "import sys\nimport torch\nimport trackrun\n\n"
        "lr = float(sys.argv[1])\n"
        "torch.manual_seed(0)\n"
        "model = torch.nn.Linear(4, 1)\n"
        "opt = torch.optim.SGD(model.parameters(), lr=lr)\n"
        "x = torch.randn(32, 4)\n"
        "with trackrun.start_run(name='script-run', params={'lr': lr}):\n"
        "    for step in range(10):\n"
        "        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()\n"
        "        opt.zero_grad()\n"
        "        loss.backward()\n"
        "        opt.step()\n"
        "        trackrun.log(loss=loss.item(), step=step)\n"
        "    print('final loss', round(loss.item(), 6))\n"
    )
    env = {**os.environ, **child_env()}
    subprocess.run(
        [sys.executable, "train.py", "0.05"], cwd=workdir, env=env, check=True, timeout=300
    )
    (run,) = runs_in(isolated_store)
    run_dir = isolated_store / "runs" / run["run_id"]
    assert run["launch"]["kind"] == "script"
    assert run["launch"]["argv"] == ["train.py", "0.05"]
    assert (run_dir / "code" / "script.py").read_text() == (workdir / "train.py").read_text()
    assert "final loss" in (run_dir / "output.log").read_text()
    result = reproduce_run(isolated_store, run["run_id"], workdir.parent / "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: identical" in result.stdout
    (new,) = [r for r in runs_in(isolated_store) if r.get("reproduces")]
    assert new["reproduces"] == run["run_id"] and new["name"] == "script-run"


@pytest.mark.slow
def test_start_run_in_a_notebook_records_the_cell_and_reproduces(
    workdir: Path, kernel: Kernel
) -> None:
    cell = (
        "with trackrun.start_run(name='nb-run', params={'lr': 0.2}) as run:\n"
        "    torch.manual_seed(1)\n"
        "    w = torch.zeros(3, requires_grad=True)\n"
        "    for step in range(5):\n"
        "        loss = ((data @ w - 1) ** 2).mean()\n"
        "        loss.backward()\n"
        "        with torch.no_grad():\n"
        "            w -= 0.2 * w.grad\n"
        "            w.grad.zero_()\n"
        "        trackrun.log(loss=loss.item(), step=step)"
    )
    run_cells(
        kernel,
        ["import torch\nimport trackrun", "data = torch.linspace(0, 1, 12).reshape(4, 3)", cell],
    )
    store = workdir / ".trackrun"
    (run,) = runs_in(store)
    code = store / "runs" / run["run_id"] / "code"
    assert run["launch"] == {"kind": "notebook"} and run["cell_id"] == "c3"
    assert (code / "cell.py").read_text() == cell
    assert "data = torch.linspace" in (code / "history.py").read_text()
    result = reproduce_run(store, run["run_id"], workdir.parent / "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: identical" in result.stdout
    tags = [e for e in api_events(store, run["run_id"]) if e["type"] == "tags"]
    assert tags[-1]["add"] == ["reproduced:identical"]


@pytest.mark.slow
def test_a_file_from_outside_the_repository_is_listed_with_its_checksum(
    workdir: Path, kernel: Kernel, tmp_path: Path
) -> None:
    outside = tmp_path / "shared-data" / "values.txt"
    outside.parent.mkdir()
    outside.write_text("1.5 2.5 4.0\n")
    run_cells(
        kernel,
        [
            SETUP,
            f"DATA = {str(outside)!r}",
            "%%track_run\n"
            "values = [float(v) for v in open(DATA).read().split()]\n"
            "trackrun.artifact(DATA)\n"
            "for i, v in enumerate(values):\n"
            "    trackrun.log(value=v * 2, step=i)",
        ],
    )
    store = workdir / ".trackrun"
    (run,) = runs_in(store)
    out = workdir.parent / "repro"
    result = reproduce_run(store, run["run_id"], out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: identical" in result.stdout
    inputs = (out / "inputs.md").read_text()
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    assert f"`{outside}` (present now): recorded sha256 `{digest}`" in inputs
    assert "the file here matches" in inputs


@pytest.mark.slow
def test_a_run_without_a_seed_is_never_called_identical(workdir: Path, kernel: Kernel) -> None:
    run_cells(
        kernel,
        [
            SETUP,
            "x = torch.linspace(-1, 1, 64).reshape(16, 4)",
            "%%track_run\n"
            "model = torch.nn.Linear(4, 1)\n"
            "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for step in range(5):\n"
            "    loss = ((model(x) - 1) ** 2).mean()\n"
            "    opt.zero_grad()\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    trackrun.log(loss=loss.item(), step=step)",
        ],
    )
    store = workdir / ".trackrun"
    (run,) = runs_in(store)
    result = reproduce_run(store, run["run_id"], workdir.parent / "repro")
    verdict = result.stdout.split("verdict: ")[-1]
    assert not verdict.startswith("identical"), result.stdout
    assert "max rel. diff" in verdict
    assert result.returncode == (0 if verdict.startswith("within tolerance") else 3)
    events = api_events(store, run["run_id"])
    recorded = [e for e in events if e["type"] == "reproduction"][-1]
    assert recorded["verdict"] != "identical" and recorded["max_rel_diff"] > 0


@pytest.mark.slow
def test_the_magic_inserts_the_slice_as_a_new_cell(workdir: Path, kernel: Kernel) -> None:
    run_cells(kernel, [SETUP, "k = 3", "unused = 4", "%%track_run\ntrackrun.log(k=k * 2, step=0)"])
    (run,) = runs_in(workdir / ".trackrun")
    msg_id = kernel.execute(f"%track_run --reproduce {run['run_id']}")
    while True:
        reply = kernel.client.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    (payload,) = [p for p in reply["content"]["payload"] if p["source"] == "set_next_input"]
    assert payload["replace"] is False
    text = payload["text"]
    assert "k = 3" in text and "unused" not in text
    assert f"reproduces={run['run_id']!r}" in text
    json.dumps(payload)  # what the frontend receives is plain JSON


@pytest.mark.slow
def test_shell_lines_in_the_tracked_cell_reproduce(workdir: Path, kernel: Kernel) -> None:
    (workdir / "table.txt").write_text("alpha 1\nbeta 2\ngamma 3\n")
    run_cells(
        kernel,
        [
            SETUP,
            "n = 21",
            "%%track_run\n"
            "!echo $HOME\n"
            "x = !echo {n*2}\n"
            "cols = !awk '{print $1}' table.txt\n"
            "trackrun.log(doubled=float(x[0]), rows=len(cols), step=0)",
        ],
    )
    store = workdir / ".trackrun"
    (run,) = runs_in(store)
    out = workdir.parent / "repro"
    result = reproduce_run(store, run["run_id"], out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: identical" in result.stdout
    (new,) = [r for r in runs_in(store) if r.get("reproduces")]
    log = (store / "runs" / new["run_id"] / "output.log").read_text()
    assert os.environ["HOME"] in log  # the shell expanded $HOME
