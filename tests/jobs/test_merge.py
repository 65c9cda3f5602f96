"""Merging a job's outputs back into the kernel's objects, with real torch/numpy objects and
real pickles (the job side is played in this process: unpickle, run, pickle)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

from trackrun.jobs.freeze import _grads_of, freeze_inputs, output_names
from trackrun.jobs.graph import dump_graph, load_graph, restore_names, track_optimizer_steps
from trackrun.jobs.merge import MergeReport, merge_graph, recorded, remember

torch = pytest.importorskip("torch")


def kernel_ns(code: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(code, ns)
    return ns


def detach_and_attach(
    ns: dict[str, Any], reads: list[str], cell: str, run_id: str, record: bool = True
) -> tuple[dict[str, Any], MergeReport]:
    """Freeze ``reads`` from ``ns``, run ``cell`` on the unpickled graph, pickle the outputs
    and merge them back into ``ns`` as attach does; returns the bound values and report."""
    frozen = freeze_inputs(ns, reads)
    if record:
        remember(run_id, frozen.objects, [ns[n] for n in frozen.names])
    job: dict[str, Any] = {"__name__": "__main__"}
    inputs, memo = load_graph(frozen.payload, job)
    track_optimizer_steps(memo.values())  # as the job process does
    job.update(inputs)
    origins = {id(obj): index for index, obj in memo.items()}
    del frozen
    exec(cell, job)
    spec = {"outputs": None, "assigned": ["out"], "inputs": list(inputs), "written": []}
    names = output_names(job, spec)
    graph = dump_graph({"names": {n: job[n] for n in names}, "grads": _grads_of(job, names)}, job)
    links = {i: origins[id(o)] for i, o in graph.objects.items() if id(o) in origins}
    before = dict(ns)
    value, loaded = load_graph(graph.payload, ns)
    restore_names(ns, before)
    bound, report = merge_graph(run_id, value["names"], loaded, links, value["grads"])
    ns.update(bound)
    return bound, report


SETUP = """
import torch, numpy as np
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
arr = np.zeros(4)
bag = {1, 2}
class Box:
    def __init__(self):
        self.n = 0
box = Box()
def train(steps):
    for _ in range(steps):
        loss = model(torch.ones(2, 3)).pow(2).sum()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    arr[:] += steps
    bag.add(steps)
    box.n += steps
"""


def test_modules_optimizers_schedulers_arrays_sets_objects_merge_in_place() -> None:
    ns = kernel_ns(SETUP)
    ids = {n: id(ns[n]) for n in ("model", "opt", "sched", "arr", "bag", "box", "train")}
    weight = ns["model"][0].weight
    _, report = detach_and_attach(ns, ["train"], "train(5)", "r-merge")
    assert {n: id(ns[n]) for n in ids} == ids
    assert ns["model"][0].weight is weight and not torch.equal(weight, torch.zeros_like(weight))
    assert ns["opt"].param_groups[0]["params"][0] is weight
    assert weight in ns["opt"].state and int(ns["opt"].state[weight]["step"]) == 5
    assert ns["sched"].optimizer is ns["opt"] and ns["sched"].last_epoch == 5
    assert ns["arr"].tolist() == [5.0] * 4 and ns["bag"] == {1, 2, 5} and ns["box"].n == 5
    assert ns["train"].__globals__ is ns and weight.grad is not None
    assert not report.rebound and "model" in report.in_place
    # the kernel keeps training the same objects
    before = weight.detach().clone()
    ns["train"](1)
    assert not torch.equal(before, weight)
    assert not recorded("r-merge")  # dropped once attached


def test_without_a_record_the_graph_loads_with_identity_among_names() -> None:
    ns = kernel_ns(SETUP + "\nalias = model[0].weight\nparams = list(model.parameters())")
    detach_and_attach(ns, ["train", "alias", "params"], "train(2)", "r-new", record=False)
    assert ns["alias"] is ns["model"][0].weight is ns["params"][0]
    assert ns["opt"].param_groups[0]["params"][0] is ns["alias"]
    assert ns["train"].__globals__ is ns


def test_record_is_weak_a_deleted_model_is_freed_and_rebound() -> None:
    ns = kernel_ns("import torch\nmodel = torch.nn.Linear(2, 2)")
    frozen = freeze_inputs(ns, ["model"])
    remember("r-weak", frozen.objects, [ns[n] for n in frozen.names])
    del frozen
    ref = weakref.ref(ns["model"])
    del ns["model"]
    gc.collect()
    assert ref() is None  # the launch record does not keep it alive


def test_shape_changes_of_arrays_are_rebound_with_a_reason_tensors_keep_identity() -> None:
    ns = kernel_ns("import numpy as np, torch\na = np.zeros(3)\nt = torch.zeros(3)\nkeep = a")
    t = ns["t"]
    _, report = detach_and_attach(
        ns, ["a", "t", "torch"], "a.resize(5, refcheck=False)\nt.data = torch.ones(6)", "r-shape"
    )
    assert ns["t"] is t and ns["t"].tolist() == [1.0] * 6
    assert ns["a"] is not ns["keep"] and ns["a"].shape == (5,)
    assert report.rebound and report.rebound[0][0] == "a" and "shape" in report.rebound[0][1]
    assert isinstance(ns["keep"], np.ndarray)


def test_new_optimizer_over_kernel_parameters_points_at_the_kernel_parameters() -> None:
    ns = kernel_ns("import torch\nmodel = torch.nn.Linear(2, 1)")
    weight = ns["model"].weight
    detach_and_attach(
        ns,
        ["model", "torch"],
        "out = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "model(torch.ones(1, 2)).sum().backward()\nout.step()",
        "r-newopt",
    )
    assert ns["out"].param_groups[0]["params"][0] is weight
    before = weight.detach().clone()
    ns["model"](torch.ones(1, 2)).sum().backward()
    ns["out"].step()
    assert not torch.equal(before, weight)
