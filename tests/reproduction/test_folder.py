"""What the folder says about values the script cannot take from the record: secrets
recorded redacted and values typed into widgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trackrun.reproduction.folder import plan_folder

from .helpers import child_env, recorded, runs_in


def test_a_redacted_param_is_left_to_the_code_that_defined_it(tmp_path: Path) -> None:
    history = [
        "import os\napi_key = os.environ.get('SERVICE_API_KEY', '')",
        "lr = 0.1",
        "%load_ext trackrun\nimport trackrun",
    ]
    cell = "%%track_run\ntrackrun.log(key_length=len(api_key), lr=lr, step=0)"
    params = {"api_key": "<redacted:api_key>", "lr": 0.1}
    script, _, files = plan_folder(recorded(tmp_path, history, cell, params))
    assert script.params == {"lr": 0.1} and script.secrets == {"api_key": "<redacted:api_key>"}
    assert "<redacted" not in script.text.split("# %% params", 1)[1].split("# %% the tracked")[0]
    assert script.slice is not None and [i.number for i in script.slice.kept] == [1, 3]
    inputs = files["inputs.md"]
    assert (
        "- `api_key`: a secret (recorded as `<redacted:api_key>`), so reproduce.py does not set "
        "it; the code that defined it runs instead and reads the environment: set "
        "`SERVICE_API_KEY` in the environment before running." in inputs
    )
    # The script runs, and takes the secret from the environment as the notebook did.
    (tmp_path / "reproduce.py").write_text(script.text)
    env = {**os.environ, **child_env(), "TRACKRUN_HOME": str(tmp_path / "store")}
    env["SERVICE_API_KEY"] = "k" * 24
    done = subprocess.run(
        [sys.executable, "reproduce.py"], cwd=tmp_path, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (run,) = runs_in(tmp_path / "store")
    metrics = (tmp_path / "store" / "runs" / run["run_id"] / "events.jsonl").read_text()
    assert '"key_length"' in metrics and "24" in metrics


def test_a_secret_no_input_defines_is_named_with_where_to_set_it(tmp_path: Path) -> None:
    cell = "%%track_run\nprint(len(hf_token))"
    record = recorded(tmp_path, ["x = 1"], cell, {"hf_token": "<redacted:HF_TOKEN>"})
    _, _, files = plan_folder(record)
    assert (
        "- `hf_token`: a secret (recorded as `<redacted:HF_TOKEN>`), so reproduce.py does not "
        "set it, and no recorded input defines it: set it in the environment as `HF_TOKEN` and "
        "add `hf_token = os.environ['HF_TOKEN']` above the tracked cell." in files["inputs.md"]
    )


def test_the_widgets_note_says_what_a_widget_read_gets(tmp_path: Path) -> None:
    history = ["import ipywidgets as w\nslider = w.FloatSlider(value=0.1)", "lr = slider.value"]
    direct = "%%track_run\nprint(slider.value)"
    _, _, files = plan_folder(recorded(tmp_path, history, direct))
    note = files["inputs.md"].split("## Values typed into widgets\n\n", 1)[1].split("\n")[0]
    assert "(none)" not in note
    assert "No param was recorded for the tracked cell" in note
    assert "(`slider.value`) gets the widget's initial value, not the one set by hand" in note

    both = "%%track_run\nprint(lr, slider.value)"
    _, _, files = plan_folder(recorded(tmp_path, history, both, {"lr": 0.25}))
    note = files["inputs.md"].split("## Values typed into widgets\n\n", 1)[1].split("\n")[0]
    assert "sets the params recorded for the tracked cell (`lr = 0.25`)" in note
    assert "reads a widget itself (`slider.value`) gets the widget's initial value" in note
