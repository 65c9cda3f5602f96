"""Reproducing notebook runs recorded by a real kernel: the slice, the script, the verdict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..kernels import Kernel
from .helpers import api_events, child_env, cli, project, run_cells, runs_in

TRACKED = """%%track_run --tag repro
torch.manual_seed(0)
model = make_model(hidden)
opt = torch.optim.SGD(model.parameters(), lr=lr)
for epoch in range(epochs):
    loss = train_step(model, opt, X, Y)
    trackrun.log(loss=loss, step=epoch)
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return project(tmp_path)


@pytest.fixture
def kernel(workdir: Path) -> Iterator[Kernel]:
    k = Kernel.start(workdir, child_env())
    yield k
    k.shutdown()


@pytest.mark.slow
def test_twelve_cells_out_of_order_reproduce_identical(workdir: Path, kernel: Kernel) -> None:
    data_cell = (
        "g = torch.Generator().manual_seed(1)\n"
        "X = torch.randn(n, 4, generator=g)\n"
        "Y = (X ** 2).sum(1, keepdim=True)"
    )
    run_cells(
        kernel,
        [
            "%load_ext trackrun",  # In[1]
            "import altair as alt\nimport torch\nimport trackrun",  # In[2]
            "n = 64",  # In[3]
            "def make_model(hidden):\n"
            "    return torch.nn.Sequential(\n"
            "        torch.nn.Linear(4, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))\n\n"
            "def train_step(model, opt, x, y):\n"
            "    loss = ((model(x) - y) ** 2).mean()\n"
            "    opt.zero_grad()\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    return loss.item()",  # In[4]: helper functions
            data_cell,  # In[5]: seeded data, superseded by In[10]
            "points = [{'step': i, 'value': v} for i, v in enumerate([3, 1, 2])]\n"
            "chart = alt.Chart(alt.Data(values=points)).mark_line().encode(x='step:Q', y='value:Q')\n"
            "open('unrelated.json', 'w').write(chart.to_json())",  # In[6]: an unrelated plot
            "lr = 0.05\nepochs = 6\nhidden = 16",  # In[7]
            ("Y = Y * undefined_scale", True),  # In[8]: fails before changing anything
            "n = 128",  # In[9]
            data_cell,  # In[10]: the data cell re-executed out of order
            "hidden = 8",  # In[11]
            TRACKED,  # In[12]
        ],
    )
    store = workdir / ".trackrun"
    (original,) = runs_in(store)
    out = workdir.parent / "repro"
    result = cli("--store", str(store), "reproduce", original["run_id"], "-o", str(out), "--run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: identical" in result.stdout
    script = (out / "reproduce.py").read_text()
    kept = [line for line in script.splitlines() if line.startswith("# %% In[")]
    assert [k.split("]")[0] + "]" for k in kept] == [
        "# %% In[2]",
        "# %% In[4]",
        "# %% In[9]",
        "# %% In[10]",
    ]
    assert "unrelated.json" not in script and "undefined_scale" not in script
    assert "In[8]: failed" in script and "In[6]: dropped" in script
    assert "hidden = 8\n" in script  # the params block: the values the cell read
    originals, reproductions = runs_in(store), [r for r in runs_in(store) if r.get("reproduces")]
    assert len(originals) == 2 and len(reproductions) == 1
    new = reproductions[0]
    assert new["reproduces"] == original["run_id"]
    for run_id in (original["run_id"], new["run_id"]):
        verdicts = [e for e in api_events(store, run_id) if e["type"] == "reproduction"]
        assert verdicts and verdicts[-1]["verdict"] == "identical"
    assert (out / "requirements.txt").read_text().count("torch==") == 1
    assert "git apply" in (out / "README.md").read_text()
    assert "HIDDEN = 64" in (out / "git.patch").read_text()
