"""The public Python API: runs, logging, params, artifacts, checkpoints, queries."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import trackrun
from trackrun.errors import FilterError, NoActiveRunError

from .conftest import run_python


def test_context_manager_records_finished_run_with_params_tags_and_metrics() -> None:
    with trackrun.start_run(name="baseline", params={"lr": 1e-3, "opt": "adam"}, tags=["a"]) as run:
        assert trackrun.current_run() is run
        for epoch in range(5):
            trackrun.log(loss=1.0 / (epoch + 1), acc=epoch / 10, step=epoch)
    assert trackrun.current_run() is None
    table = trackrun.runs()
    assert len(table) == 1
    row = table[0]
    assert row["run_id"] == run.run_id and row["name"] == "baseline"
    assert row["status"] == "finished" and row["tags"] == ["a"]
    assert row["params.lr"] == 1e-3 and row["params.opt"] == "adam"
    assert row["metrics.loss"] == pytest.approx(0.2)
    assert row["metrics.loss.max"] == 1.0 and row["metrics.acc.min"] == 0.0
    history = trackrun.metrics(run.run_id, "loss")
    assert history["step"] == [0, 1, 2, 3, 4]


def test_plain_call_and_finish() -> None:
    run = trackrun.start_run()
    trackrun.log({"val/acc": 0.5}, step=3)
    trackrun.log_params(batch_size=32)
    trackrun.finish()
    row = trackrun.runs()[0]
    assert row["run_id"] == run.run_id and row["status"] == "finished"
    assert row["metrics.val/acc"] == 0.5 and row["params.batch_size"] == 32
    assert run.name and "-" in run.name  # a generated readable name


def test_exception_marks_failed_with_traceback_and_propagates() -> None:
    with pytest.raises(ZeroDivisionError), trackrun.start_run() as run:
        trackrun.log(loss=1.0)
        1 / 0  # noqa: B018
    info = trackrun.get_store().summary(run.run_id)
    assert info["status"] == "failed"
    assert "ZeroDivisionError" in info["error"] and "Traceback" in info["error"]
    assert info["metrics"]["loss"]["last"] == 1.0


def test_keyboard_interrupt_marks_killed() -> None:
    with pytest.raises(KeyboardInterrupt), trackrun.start_run() as run:
        raise KeyboardInterrupt
    assert trackrun.get_store().summary(run.run_id)["status"] == "killed"


def test_metric_value_types() -> None:
    with trackrun.start_run() as run:
        trackrun.log(
            a=np.float32(0.5),
            b=np.int64(3),
            c=torch.tensor(2.5),
            d=True,
            e=math.nan,
            f=-math.inf,
            g=np.array(1.25),
        )
        with pytest.raises(TypeError, match=r"'bad'.*str"):
            trackrun.log(bad="high")
        with pytest.raises(TypeError, match=r"'vec'.*shape \(3,\)"):
            trackrun.log(vec=torch.ones(3))
        with pytest.raises(TypeError, match="step must be an int"):
            trackrun.log(x=1.0, step=1.5)  # type: ignore[arg-type]
    metrics = trackrun.get_store().summary(run.run_id)["metrics"]
    assert metrics["a"]["last"] == 0.5 and metrics["b"]["last"] == 3.0
    assert metrics["c"]["last"] == 2.5 and metrics["d"]["last"] == 1.0
    assert math.isnan(metrics["e"]["last"]) and metrics["f"]["last"] == -math.inf
    assert metrics["g"]["last"] == 1.25
    assert "bad" not in metrics and "vec" not in metrics


def test_logged_dict_is_copied_not_referenced() -> None:
    values = {"loss": 1.0}
    with trackrun.start_run() as run:
        trackrun.log(values, step=0)
        values["loss"] = 99.0
        trackrun.log(values, step=1)
    history = trackrun.metrics(run.run_id)
    assert history["value"] == [1.0, 99.0]


def test_unicode_and_very_long_metric_names() -> None:
    long_key = "layer/" + "x" * 5000
    with trackrun.start_run() as run:
        trackrun.log({"genauigkeit_µ/验证": 0.75, long_key: 2.0}, step=0)
    metrics = trackrun.get_store().summary(run.run_id)["metrics"]
    assert metrics["genauigkeit_µ/验证"]["last"] == 0.75
    assert metrics[long_key]["last"] == 2.0
    assert len(trackrun.runs('metrics."genauigkeit_µ/验证" > 0.5')) == 1


def test_log_without_run_raises_clear_error() -> None:
    with pytest.raises(NoActiveRunError, match="start_run"):
        trackrun.log(loss=1.0)


def test_bad_params_rejected_with_key_name() -> None:
    with pytest.raises(TypeError, match="'model'"):
        trackrun.start_run(params={"model": object()})


def test_artifact_copied_with_sha256(tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00\x01" * 1000)
    with trackrun.start_run() as run:
        stored = trackrun.artifact(source, name="model.bin")
        with pytest.raises(ValueError, match="plain file name"):
            trackrun.artifact(source, name="../escape")
    assert stored.read_bytes() == source.read_bytes()
    artifacts = trackrun.get_store().summary(run.run_id)["artifacts"]
    assert artifacts == [
        {
            "name": "model.bin",
            "size": 2000,
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "logged_at": artifacts[0]["logged_at"],
        }
    ]


def test_checkpoints_keep_newest_and_resume_with_torch() -> None:
    with trackrun.start_run() as run:
        assert trackrun.resume() is None
        model = torch.nn.Linear(2, 1)
        for step in range(5):
            trackrun.checkpoint({"model": model.state_dict(), "step": step}, step=step)
        latest = trackrun.resume()
    assert latest is not None and latest.step == 4 and latest.state["step"] == 4
    assert torch.equal(latest.state["model"]["weight"], model.state_dict()["weight"])
    files = sorted(p.name for p in (run.dir / "checkpoints").iterdir())
    assert files == [f"step-{s:012d}.pt" for s in (2, 3, 4)]


def test_checkpoints_use_pickle_without_torch(isolated_store: Path) -> None:
    code = """
import sys
sys.modules["torch"] = None  # make `import torch` fail, as on a machine without torch
import trackrun
with trackrun.start_run() as run:
    trackrun.checkpoint({"w": [1, 2]}, step=7, keep=1)
    trackrun.checkpoint({"w": [3, 4]}, step=8, keep=1)
    ck = trackrun.resume()
print(ck.step, ck.state["w"], sorted(p.name for p in (run.dir / "checkpoints").iterdir()))
"""
    out = run_python(code)
    assert out.strip() == "8 [3, 4] ['step-000000000008.pkl']"


def test_filter_errors_point_at_column() -> None:
    with pytest.raises(FilterError) as info:
        trackrun.runs("status = finished and (")
    assert info.value.column == 24


def test_runs_order_limit_and_conversions() -> None:
    for lr in (0.1, 0.001, 0.01):
        with trackrun.start_run(params={"lr": lr}):
            trackrun.log(acc=lr * 10)
    table = trackrun.runs(order_by="params.lr", limit=2)
    assert table["params.lr"] == [0.001, 0.01]
    frame = table.to_pandas()
    assert list(frame["params.lr"]) == [0.001, 0.01]
    relation = trackrun.runs().to_duckdb()
    assert relation.aggregate('max("metrics.acc")').fetchall()[0][0] == pytest.approx(1.0)
    assert trackrun.sql("SELECT count(*) AS n FROM runs")["n"] == [3]


def test_import_trackrun_stays_light() -> None:
    out = run_python(
        "import sys, trackrun; print(sorted(m for m in ('duckdb', 'IPython', 'torch', "
        "'pyarrow', 'tornado', 'altair') if m in sys.modules))"
    )
    assert out.strip() == "[]"
    assert sys.modules.get("trackrun") is not None


def test_public_surface_is_exactly_all() -> None:
    public = {n for n in vars(trackrun) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(trackrun, n)).__name__ == "module"}
    hooks = {"watch_current_shell", "load_ipython_extension"}  # for IPython, not users
    assert sorted(trackrun.__all__) == sorted(public - modules - hooks)
    assert {"log_image", "log_figure"} <= set(trackrun.__all__)
    assert trackrun.log_image.__doc__ and "PNG" in trackrun.log_image.__doc__
