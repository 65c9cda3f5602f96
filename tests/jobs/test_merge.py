"""Merging a job's outputs back into the kernel's objects, with real torch/numpy objects and
real pickles (the job side is played in this process: unpickle, run, pickle)."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trackrun.events import append_event
from trackrun.jobs.freeze import _grads_of, freeze_inputs, output_names
from trackrun.jobs.graph import dump_graph, load_graph, restore_names, track_optimizer_steps
from trackrun.jobs.launch_records import prune_records, recorded, remember
from trackrun.jobs.merge import MergeReport, merge_graph
from trackrun.layout import StorePaths

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


C_SETUP = """
import collections, datetime, io, random
import numpy as np, torch
rng = random.Random(0); rng_alias = rng
npg = np.random.default_rng(0); npg_alias = npg
legacy = np.random.RandomState(0); legacy_alias = legacy
tg = torch.Generator().manual_seed(0); tg_alias = tg
dq = collections.deque([1], maxlen=5); dq_alias = dq
buf = io.BytesIO(b"kernel"); buf_alias = buf
when = datetime.datetime(2026, 1, 1); when_alias = when
"""
C_CELL = """
rng.random(); npg.random(); legacy.random_sample(); torch.rand(1, generator=tg)
dq.append(2)
buf.seek(0, 2); buf.write(b"+job")
later = when.year
"""


def test_c_implemented_random_generators_and_deques_merge_in_place() -> None:
    """Objects whose state lives in C: the kinds with a public state (random generators,
    deques) get the job's state in place, so an alias made in the kernel sees it."""
    ns = kernel_ns(C_SETUP)
    reads = ["rng", "npg", "legacy", "tg", "dq", "buf", "when", "torch"]
    _, report = detach_and_attach(ns, reads, C_CELL, "r-native")
    reference = kernel_ns(C_SETUP + C_CELL)  # the same cell, run inline
    for name in ("rng", "npg", "legacy", "tg", "dq"):
        assert ns[name] is ns[f"{name}_alias"], name
        assert name in report.in_place, report
    assert ns["rng_alias"].random() == reference["rng"].random()
    assert ns["npg_alias"].random() == reference["npg"].random()
    assert ns["legacy_alias"].random_sample() == reference["legacy"].random_sample()
    expected = torch.rand(3, generator=reference["tg"])
    assert torch.equal(torch.rand(3, generator=ns["tg_alias"]), expected)
    assert list(ns["dq_alias"]) == [1, 2] and ns["dq_alias"].maxlen == 5
    # An unchanged C object (an immutable datetime) needs no merge: it keeps its identity.
    assert ns["when"] is ns["when_alias"] and "when" in report.in_place


def test_other_c_objects_are_rebound_and_named_with_the_reason() -> None:
    """A C object without a way to put state into it (io.BytesIO) is rebound to the job's
    value and named, with the reason; its other references keep the old state."""
    ns = kernel_ns(C_SETUP)
    reads = ["rng", "npg", "legacy", "tg", "dq", "buf", "when", "torch"]
    _, report = detach_and_attach(ns, reads, C_CELL, "r-c-object")
    assert ns["buf"].getvalue() == b"kernel+job" and ns["buf_alias"].getvalue() == b"kernel"
    assert report.rebound == [
        (
            "buf",
            "a C-implemented object: its state cannot be put into the kernel's object; other "
            "references to it keep the old state",
        )
    ]


SLOTS_SETUP = """
import collections
class Counter:
    __slots__ = ("n", "__hidden")
    def __init__(self):
        self.n = 0
        self.__hidden = "k"
    def bump(self):
        self.n += 1
counter = Counter(); counter_alias = counter
step = counter.bump
dq = collections.deque()
push = dq.append
"""


def test_slots_objects_merge_and_bound_methods_follow_their_object() -> None:
    """Objects with __slots__ (no __dict__) get the job's state in place; a bound method
    (of a notebook class, or a C method such as deque.append) comes back bound to the
    kernel's object, so calling it after attach changes what the kernel's names hold."""
    ns = kernel_ns(SLOTS_SETUP)
    _, report = detach_and_attach(ns, ["counter", "step", "push"], "step(); push(7)", "r-slots")
    assert ns["counter"] is ns["counter_alias"] and ns["counter_alias"].n == 1
    assert ns["counter"]._Counter__hidden == "k" and not report.rebound
    assert ns["step"].__self__ is ns["counter"] and ns["push"].__self__ is ns["dq"]
    ns["step"]()
    ns["push"](8)
    assert ns["counter_alias"].n == 2 and list(ns["dq"]) == [7, 8]


def test_launch_records_that_can_never_load_are_pruned(tmp_path: Path) -> None:
    """A record is dropped when its run folder is gone or its run ended without outputs;
    a running run, or one whose outputs wait to be attached, keeps it. Named containers
    (held strongly) are then freed, and the tensors in them."""
    store = StorePaths(tmp_path / "store").ensure()
    runs = {name: store.new_run() for name in ("failed", "killed", "deleted", "running", "done")}
    refs = {}
    for name, paths in runs.items():
        paths.job.mkdir()
        tensors = [torch.zeros(3)]
        refs[name] = weakref.ref(tensors[0])
        remember(paths.run_id, {1: tensors}, [tensors], paths.root)
        del tensors
        append_event(paths.events_of("supervisor"), "status", status="running")
    append_event(runs["failed"].events_of("supervisor"), "status", status="failed")
    append_event(runs["killed"].events_of("observer"), "status", status="killed")
    append_event(runs["done"].events_of("supervisor"), "status", status="finished")
    (runs["done"].job / "outputs.pkl").write_bytes(b"")
    shutil.rmtree(runs["deleted"].root)
    dropped = prune_records()
    assert sorted(dropped) == sorted(runs[n].run_id for n in ("failed", "killed", "deleted"))
    assert [n for n, paths in runs.items() if recorded(paths.run_id)] == ["running", "done"]
    gc.collect()
    assert [n for n, ref in refs.items() if ref() is not None] == ["running", "done"]
    for paths in runs.values():
        shutil.rmtree(paths.root, ignore_errors=True)
    prune_records()


class _CudaStorage:
    """Pickles as a torch storage saved on ``cuda:0`` does (torch's legacy bytes, location
    ``cuda:0``): what a job on a GPU node writes into outputs.pkl."""

    def __init__(self, values: Any) -> None:
        _, (storage, *_) = values.__reduce_ex__(4)  # torch's own reduce of a tensor
        _, (data,) = storage.__reduce__()  # its storage's legacy torch.save bytes
        cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
        assert data.count(cpu) == 1
        self.data = data.replace(cpu, cuda)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (torch.storage._load_from_bytes, (self.data,))


class _CudaTensor:
    """Pickles as a float tensor on ``cuda:0`` (torch's own reduce, storage on the GPU)."""

    def __init__(self, values: Any) -> None:
        self.storage = _CudaStorage(values)
        self.shape, self.stride = tuple(values.shape), values.stride()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        import collections

        args = (self.storage, 0, self.shape, self.stride, False, collections.OrderedDict())
        return (torch._utils._rebuild_tensor_v2, args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a kernel without CUDA")
def test_gpu_tensors_of_a_job_load_to_cpu_and_attach_says_so(tmp_path: Path) -> None:
    import json
    import pickle

    from trackrun.jobs.merge import attach_outputs
    from trackrun.signing import write_signed

    values = torch.arange(3.0)
    cuda_t = _CudaTensor(values)
    outputs = {"names": {"t": cuda_t, "box": {"w": cuda_t}, "n": 3}, "grads": []}
    payload = pickle.dumps(outputs, protocol=4)
    with pytest.raises(RuntimeError, match="deserialize object on a CUDA device"):
        pickle.loads(payload)  # plain unpickling fails in a kernel without CUDA
    store = StorePaths(tmp_path / "store").ensure()
    paths = store.new_run()
    paths.job.mkdir()
    write_signed(paths.job / "outputs.pkl", payload, store.root)
    info = {"saved": ["box", "n", "t"], "skipped": [], "links": {}}
    (paths.job / "outputs.json").write_text(json.dumps(info))
    ns: dict[str, Any] = {"__name__": "__main__"}
    attached = attach_outputs(paths, ns)
    assert attached is not None
    bound, report, _ = attached
    assert torch.equal(bound["t"], values) and bound["t"].device.type == "cpu"
    assert bound["box"]["w"] is bound["t"] and bound["n"] == 3
    assert report.notes == ["loaded to CPU: t, box (saved on cuda:0; CUDA is not available here)"]


def test_c_implemented_classes_are_told_from_python_ones() -> None:
    """Which objects keep state Python cannot see: static C types, and C types made at run
    time (``_random.Random``) too; classes from a class statement never, slots or not."""
    import collections
    import dataclasses
    import datetime
    import enum
    import io
    import random

    from trackrun.jobs.native_state import c_state_class

    class Plain:
        pass

    class Slotted:
        __slots__ = ("a",)

    @dataclasses.dataclass
    class Record:
        x: int = 0

    class Color(enum.Enum):
        RED = 1

    class MyDeque(collections.deque):  # type: ignore[type-arg]
        pass

    python = [Plain, Slotted, Record, Color, torch.nn.Linear, torch.optim.SGD]
    assert [c for c in python if c_state_class(c) is not None] == []
    c_kinds = {
        io.BytesIO: io.BytesIO,
        datetime.datetime: datetime.datetime,
        MyDeque: collections.deque,
        random.Random: random.Random.__mro__[1],  # _random.Random, a heap type
        torch.Generator: torch.Generator,
        np.random.Generator: np.random.Generator,
    }
    assert {c: c_state_class(c) for c in c_kinds} == c_kinds
