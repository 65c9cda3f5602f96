"""%%track_run inline runs through a real kernel: params, code, provenance, outcome, display."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from nbclient.exceptions import CellExecutionError

from trackrun.store import Store

from ..kernels import Kernel
from ..notebooks import execute_notebook, make_git_project, notebook

PARAMS_CELL = "lr = 0.05\nepochs = 20\nbatch_size = 64\nhidden = 32\nname_tag = 'digits'"
TRAIN_CELL = """%%track_run --tag digits --param seed=0
import torch, trackrun
from sklearn.datasets import load_digits
torch.manual_seed(0)
data = load_digits()
x = torch.tensor(data.data, dtype=torch.float32) / 16.0
y = torch.tensor(data.target)
model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean()
    trackrun.log(loss=loss, acc=acc, step=epoch)
    print(f"epoch {epoch} loss {loss.item():.3f}")
"""


@pytest.mark.slow
def test_training_notebook_records_a_complete_run(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "project")
    path = project / "train.ipynb"
    nb = execute_notebook(path, notebook("%load_ext trackrun", PARAMS_CELL, TRAIN_CELL))
    store = Store(project / ".trackrun", lease=0)  # the default store: .trackrun/ at the git root
    (run,) = store.runs().to_dicts()
    assert run["status"] == "finished"
    assert run["params.lr"] == 0.05 and run["params.epochs"] == 20
    assert run["params.batch_size"] == 64 and run["params.hidden"] == 32
    assert run["params.seed"] == 0
    assert "params.name_tag" not in run  # not read by the cell
    assert run["tags"] == ["digits"] and run["notebook"] == str(path)
    history = store.metrics(run["run_id"], ["acc"])
    assert history["step"] == list(range(20))
    assert history["value"][-1] > 0.8  # the model really trained
    run_dir = project / ".trackrun" / "runs" / run["run_id"]
    assert (run_dir / "code" / "cell.py").read_text() == TRAIN_CELL.split("\n", 1)[1]
    notebook_text = (run_dir / "code" / "notebook.py").read_text()
    assert (
        "# %%" in notebook_text
        and "lr = 0.05" in notebook_text
        and "epoch {epoch}" in notebook_text
    )
    assert "lr = 0.05" in (run_dir / "code" / "history.py").read_text()
    record = json.loads((run_dir / "run.json").read_text())
    git = record["provenance"]["git"]
    assert len(git["commit"]) == 40 and git["dirty"] is True and "HIDDEN = 64" in git["diff"]
    assert record["launch"]["magic"] == "%%track_run --tag digits --param seed=0"
    log = (run_dir / "output.log").read_text()
    assert "epoch 19 loss" in log
    outputs = nb.cells[2].outputs
    assert any("epoch 19 loss" in o.get("text", "") for o in outputs)
    bundle = [o for o in outputs if "application/vnd.trackrun.run+json" in o.get("data", {})]
    assert bundle[0]["data"]["application/vnd.trackrun.run+json"]["run_id"] == run["run_id"]


@pytest.mark.slow
def test_failing_cell_records_failed_and_error_still_reaches_notebook(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    path = project / "fail.ipynb"
    cells = (
        "%load_ext trackrun",
        "%%track_run\nimport trackrun\ntrackrun.log(loss=1.0)\nraise ValueError('bad batch')",
        "after = 1",
    )
    with pytest.raises(CellExecutionError) as info:
        execute_notebook(path, notebook(*cells))
    assert "ValueError" in str(info.value) and "bad batch" in str(info.value)
    (run,) = Store(project / ".trackrun", lease=0).runs().to_dicts()
    assert run["status"] == "failed" and run["metrics.loss"] == 1.0
    summary = Store(project / ".trackrun", lease=0).summary(run["run_id"])
    assert "ValueError: bad batch" in summary["error"] and "Traceback" in summary["error"]


@pytest.mark.slow
def test_cell_without_log_calls_gets_final_scalars(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    cells = (
        "%load_ext trackrun",
        "%%track_run\nimport numpy as np\nloss = np.float64(0.25)\naccuracy = 0.75\nlabel = 'x'",
    )
    execute_notebook(project / "s.ipynb", notebook(*cells))
    (run,) = Store(project / ".trackrun", lease=0).runs().to_dicts()
    assert run["metrics.loss"] == 0.25 and run["metrics.accuracy"] == 0.75
    assert "metrics.label" not in run


@pytest.mark.slow
def test_bad_options_give_one_line_error_and_do_not_run_the_cell(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    for options, needle in (
        ("--bogus", "unrecognized arguments: --bogus"),
        ("--param lr", "--param 'lr': write it as NAME=VALUE"),
        ("--param x=[1,2", "not a valid Python literal"),
        ("--retries 2", "only apply with --detach"),
    ):
        cells = ("%load_ext trackrun", f"%%track_run {options}\nran = True")
        nb = execute_notebook(
            project / "o.ipynb", notebook(*cells, "print('ran' in dir())"), allow_errors=True
        )
        # IPython shows a UsageError as one line on stderr, without a traceback.
        shown = "".join(o.get("text", "") for o in nb.cells[1].outputs)
        assert shown.startswith("UsageError:") and needle in shown, (options, shown)
        assert len(shown.strip().splitlines()) == 1
        assert nb.cells[2].outputs[0]["text"].strip() == "False"
    assert not (project / ".trackrun" / "runs").exists() or not list(
        (project / ".trackrun" / "runs").iterdir()
    )


@pytest.mark.slow
def test_interrupted_cell_records_killed(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    kernel = Kernel.start(project)
    km, kc = kernel.manager, kernel.client
    try:
        kernel.run("%load_ext trackrun")
        msg_id = kc.execute(
            "%%track_run\nimport time, trackrun\nfor i in range(600):\n    trackrun.log(i=i)\n    time.sleep(0.05)"
        )
        runs_dir = project / ".trackrun" / "runs"
        deadline = time.time() + 30
        while time.time() < deadline and not (runs_dir.exists() and any(runs_dir.iterdir())):
            time.sleep(0.1)
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"]["msg_id"] != msg_id:
            reply = kc.get_shell_msg(timeout=30)
        assert (
            reply["content"]["status"] == "error"
            and reply["content"]["ename"] == "KeyboardInterrupt"
        )
    finally:
        kernel.shutdown()
    (run,) = Store(project / ".trackrun", lease=0).runs().to_dicts()
    assert run["status"] == "killed"
    assert run["metrics.i"] >= 5


@pytest.mark.slow
def test_live_display_updates_stay_bounded_under_heavy_logging(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        code = (
            "%%track_run\nimport time, trackrun\nstart = time.time()\ncalls = 0\n"
            "while time.time() - start < 3:\n    trackrun.log(loss=calls * 1e-6, acc=0.5)\n    calls += 1\n"
            "print('calls', calls)"
        )
        messages = kernel.run(code, cell_id="live-cell")
    finally:
        kernel.shutdown()
    calls = int(
        next(
            m["content"]["text"].split()[1]
            for m in messages
            if m["msg_type"] == "stream" and "calls" in m["content"]["text"]
        )
    )
    # The cell's one view is updated in place (update_display_data of its display id).
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert calls > 10_000  # thousands of log calls per second really happened
    # 3 s at 2 refreshes a second, plus the first render and the final state.
    assert 2 <= len(updates) <= 3 / 0.5 + 4, len(updates)
    (run,) = Store(project / ".trackrun", lease=0).runs().to_dicts()
    record = json.loads((project / ".trackrun" / "runs" / run["run_id"] / "run.json").read_text())
    assert record["cell_id"] == "live-cell"
