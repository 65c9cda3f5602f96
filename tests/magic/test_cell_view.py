"""A tracked cell's own view and its figures, through real kernels: one trackrun display per
cell, updated in place to a static summary (no widget state saved, no ANSI in text), and the
figures it shows logged as media unless --no-capture-figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trackrun.store import Store

from ..kernels import Kernel, error_of
from ..notebooks import execute_notebook, make_git_project, notebook
from ..test_media import decode_png

pytestmark = pytest.mark.slow
RUN_MIME = "application/vnd.trackrun.run+json"
ANSI = re.compile(r"\x1b\[")
FIGURES_CELL = """%%track_run {options}
import matplotlib.pyplot as plt
from IPython.display import display
plt.figure(figsize=(2, 1), dpi=40, facecolor=(0, 0, 1))
plt.plot([1, 2, 3])
plt.show()
fig = plt.figure(figsize=(3, 1), dpi=40, facecolor=(0, 1, 0))
fig.add_subplot().plot([3, 1])
display(fig)
plt.close(fig)
trackrun.log(loss=0.5)
"""


@pytest.mark.parametrize("options", ["", "--no-capture-figures"])
def test_figures_a_tracked_cell_shows_are_logged_as_media(tmp_path: Path, options: str) -> None:
    project = make_git_project(tmp_path / "p")
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        messages = kernel.run(FIGURES_CELL.format(options=options))
        assert error_of(messages) is None, error_of(messages)
        shown = [m for m in messages if "image/png" in m["content"].get("data", {})]
    finally:
        kernel.shutdown()
    assert len(shown) == 2  # the user still sees both figures
    store = Store(project / ".trackrun", lease=0)
    (run,) = store.runs().to_dicts()
    media = store.media(run["run_id"]).to_dicts()
    if options:
        assert media == []
        assert not (project / ".trackrun" / "runs" / run["run_id"] / "media").exists()
        return
    assert [(m["key"], m["step"]) for m in media] == [("figure-0", 0), ("figure-1", 0)]
    run_dir = project / ".trackrun" / "runs" / run["run_id"]
    first = decode_png((run_dir / media[0]["path"]).read_bytes())
    second = decode_png((run_dir / media[1]["path"]).read_bytes())
    # The inline backend crops to the drawing: about 2x1 and 3x1 inches at 40 dpi.
    assert (media[0]["width"], media[0]["height"]) == (first.shape[1], first.shape[0])
    assert 60 <= first.shape[1] <= 80 and 60 <= second.shape[1] - 40 <= 80
    assert tuple(first[0, 0, :3]) == (0, 0, 255) and tuple(second[0, 0, :3]) == (0, 255, 0)
    # The stored PNG is the one the frontend got.
    import base64

    assert (
        base64.b64decode(shown[0]["content"]["data"]["image/png"])
        == (run_dir / media[0]["path"]).read_bytes()
    )


VIEW_CELL = """%%track_run --name view-test
import time
trackrun.log({"\\x1b[32mval_acc\\x1b[0m": 0.736}, step=0)
for step in range(3):
    trackrun.log(loss=1.0 / (step + 1), step=step)
    time.sleep(0.6)
print("\\x1b[31mred text from the user\\x1b[0m")
"""


def test_a_tracked_cell_saves_one_static_trackrun_display(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    path = project / "view.ipynb"
    nb = execute_notebook(path, notebook("%load_ext trackrun", VIEW_CELL))
    outputs = nb.cells[1].outputs
    views = [o for o in outputs if RUN_MIME in o.get("data", {})]
    assert len(views) == 1, outputs
    (view,) = views
    (run,) = Store(project / ".trackrun", lease=0).runs().to_dicts()
    assert view["data"][RUN_MIME]["run_id"] == run["run_id"]
    # No other output repeats the run's summary (no header plus widget plus text copy).
    others = [o for o in outputs if o is not view]
    assert not any(run["run_id"] in json.dumps(o) for o in others), others
    assert all(o["output_type"] == "stream" for o in others), others
    # The saved output is the final state, with no widget in it or in the metadata.
    text = view["data"]["text/plain"]
    assert "finished" in text and "loss=0.33333" in text and "val_acc=0.736" in text
    assert not ANSI.search(text) and "\x1b" not in text
    assert "application/vnd.jupyter.widget-view+json" not in view["data"]
    assert "finished" in view["data"]["text/html"]
    saved = json.loads(path.read_text())
    assert "widgets" not in saved["metadata"]
    assert "application/vnd.jupyter.widget-state+json" not in path.read_text()
    # A metric with a single point is drawn as a dot, not as empty axes.
    assert view["data"]["text/html"].count("trackrun-dot") == 1
    html = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--stdout", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "@jupyter-widgets/html-manager" not in html and "embed-amd" not in html
    assert "view-test" in html


def test_live_view_updates_the_one_display_while_the_cell_runs(tmp_path: Path) -> None:
    project = make_git_project(tmp_path / "p")
    kernel = Kernel.start(project)
    try:
        kernel.run("%load_ext trackrun")
        messages = kernel.run(VIEW_CELL)
    finally:
        kernel.shutdown()
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    views = [m for m in shown if RUN_MIME in m["content"]["data"]]
    assert len(views) == 1
    display_id = views[0]["content"]["transient"]["display_id"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(updates) >= 2  # at least one live refresh, then the final state
    assert all(u["content"]["transient"]["display_id"] == display_id for u in updates)
    texts = [u["content"]["data"]["text/plain"] for u in updates]
    assert "running" in texts[0] and "finished" in texts[-1]
    assert not any(m["msg_type"] == "comm_open" for m in messages)  # no widget
    assert np.all([not ANSI.search(t) for t in texts])
