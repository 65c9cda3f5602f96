"""The slice rules on recorded histories: what is kept, what is dropped, and why."""

from __future__ import annotations

import ast

import pytest

from trackrun.reproduction.effects import analyze
from trackrun.reproduction.ipython import raw_to_transformed, translate
from trackrun.reproduction.script import indent_code, rewrite_start_run
from trackrun.reproduction.slice import build_inputs, compute_slice


def kept(
    history: list[str], cell: str, failed: tuple[int, ...] = (), provided: tuple[str, ...] = ()
) -> list[int]:
    """Numbers (In[k], from 1) of the inputs the slice keeps for ``cell``."""
    inputs = build_inputs(list(enumerate(history, start=1)), failed)
    target = translate(raw_to_transformed(cell))
    return [i.number for i in compute_slice(inputs, analyze(target.code), provided).kept]


def test_mutation_through_a_method_call_is_kept() -> None:
    history = [
        "import torch",
        "model = torch.nn.Linear(4, 1)",
        "state = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}",
        "model.load_state_dict(state)",
        "other = torch.ones(3)",
    ]
    assert kept(history, "print(model(torch.ones(4)))") == [1, 2, 3, 4]


def test_augmented_assignment_and_in_place_list_changes_are_kept() -> None:
    history = ["weights = [1.0]", "weights += [2.0]", "items = []", "items.append(3)", "x = 1"]
    assert kept(history, "total = sum(weights) + len(items)") == [1, 2, 3, 4]


def test_attribute_subscript_and_del_changes_are_kept() -> None:
    history = [
        "cfg = {'lr': 0.1, 'x': 1}",
        "cfg['lr'] = 0.2",
        "class Box: pass\nbox = Box()",
        "box.size = 3",
        "del cfg['x']",
        "temp = 5",
        "del temp",
    ]
    assert kept(history, "print(cfg, box.size)") == [1, 2, 3, 4, 5]


def test_a_name_passed_to_a_call_may_be_mutated() -> None:
    history = ["import random", "deck = list(range(10))", "random.shuffle(deck)", "print(deck)"]
    assert kept(history, "top = deck[0]") == [1, 2, 3]


def test_function_reads_globals_when_called_not_when_defined() -> None:
    history = [
        "def scaled(x):\n    return x * factor",
        "factor = 2",
        "factor = 3",
        "unrelated = scaled",
    ]
    assert kept(history, "y = scaled(4)") == [1, 3]


def test_a_lambda_reads_its_globals_when_called() -> None:
    history = ["k = 2", "f = lambda x: x * k", "k = 3", "unused = 4"]
    assert kept(history, "print(f(1))") == [2, 3]


def test_a_partial_reads_what_its_function_reads_when_called() -> None:
    history = [
        "from functools import partial",
        "def scale(a, b):\n    return a * b * c",
        "c = 1",
        "double = partial(scale, 2)",
        "c = 5",
        "unused = 4",
    ]
    assert 5 in kept(history, "print(double(3))")
    assert 6 not in kept(history, "print(double(3))")


def test_a_decorator_is_a_call_when_its_def_runs() -> None:
    history = [
        "registry = []",
        "def register(fn):\n    registry.append(fn)\n    return fn",
        "@register\ndef task():\n    return 1",
        "@register\nclass Job:\n    pass",
        "def plain():\n    return 2",
    ]
    assert kept(history, "print(len(registry))") == [1, 2, 3, 4]


def test_calls_inside_a_called_function_count() -> None:
    history = [
        "log = []",
        "def record(x):\n    log.append(x)",
        "def run():\n    record(1)",
        "run()",
        "z = 0",
    ]
    assert kept(history, "n = len(log)") == [1, 2, 3, 4]


def test_star_imports_and_exec_are_kept_when_in_doubt() -> None:
    history = ["from math import *", "exec('hidden = 1')", "unrelated = 2"]
    assert kept(history, "print(hidden, pi)") == [1, 2]


def test_failed_and_unparseable_inputs_are_dropped() -> None:
    history = ["a = 1", "a = 2\nraise RuntimeError", "a = = 3"]
    assert kept(history, "print(a)", failed=(2,)) == [1]


def test_a_seed_at_the_top_of_the_cell_cuts_earlier_random_draws() -> None:
    history = ["import torch", "noise = torch.randn(3)", "size = 4"]
    assert kept(history, "torch.manual_seed(0)\nw = torch.randn(size)") == [1, 3]
    # Without the seed, every earlier draw from torch's generator changes the result.
    assert kept(history, "w = torch.randn(size)") == [1, 2, 3]
    # A layer made before the seed drew its weights from the generator as it was then.
    history.append("layer = torch.nn.Linear(2, 2)")
    assert kept(history, "torch.manual_seed(0)\nprint(layer)") == [1, 2, 4]


def test_a_private_generator_is_not_the_global_one() -> None:
    history = [
        "import torch",
        "g = torch.Generator().manual_seed(1)\ndata = torch.randn(4, generator=g)",
        "other = torch.randn(2)",
    ]
    assert kept(history, "torch.manual_seed(0)\nprint(data.sum())") == [1, 2]


def test_params_provided_before_the_cell_need_no_input() -> None:
    history = ["lr = 0.1", "lr = 0.2", "epochs = 3"]
    assert kept(history, "print(lr, epochs)", provided=("lr",)) == [3]


def test_ipython_lines_become_python_or_are_dropped_with_a_comment() -> None:
    source = raw_to_transformed(
        "%matplotlib inline\n!echo {n} $name\nfiles = !ls\n%cd /tmp\n%env MODE=fast\nx = 1"
    )
    result = translate(source)
    assert "_sh('echo {n} $name', globals(), locals())" in result.code
    assert "files = _sh('ls', globals(), locals(), capture=True)" in result.code
    assert "os.chdir(os.path.expanduser('/tmp'))" in result.code
    assert "os.environ.update({'MODE': 'fast'})" in result.code
    assert (
        "pass  # dropped IPython magic: %matplotlib inline (display or tooling only)" in result.code
    )
    assert result.dropped == ["%matplotlib inline: display or tooling only"]
    ast.parse(result.code)


def test_an_earlier_tracked_cell_becomes_its_body() -> None:
    result = translate(raw_to_transformed("%%track_run --tag a\nloss = 1\n!echo hi"))
    assert result.tracked
    assert result.code.startswith("loss = 1\n_sh('echo hi', globals(), locals())")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("start_run()", "start_run(reproduces='X')"),
        ("trackrun.start_run(name='a',)", "trackrun.start_run(name='a', reproduces='X')"),
        (
            "start_run(\n    name='a',  # why\n)",
            "start_run(\n    name='a',  # why\n reproduces='X')",
        ),
        ("start_run(reproduces='old')", "start_run(reproduces='X')"),
    ],
)
def test_start_run_calls_are_linked_to_the_original(code: str, expected: str) -> None:
    rewritten = rewrite_start_run(code, "reproduces", "'X'")
    assert rewritten == expected
    ast.parse(rewritten)


def test_indenting_keeps_multi_line_strings_unchanged() -> None:
    code = 'text = """a\nb"""\nif text:\n    print(text)'
    indented = indent_code(code, "    ")
    namespace: dict[str, str] = {}
    exec(compile("if True:\n" + indented, "<test>", "exec"), namespace)  # noqa: S102
    assert namespace["text"] == "a\nb"


def test_a_notebook_function_changes_only_the_arguments_its_body_changes() -> None:
    history = [
        "def fit(model, data):\n    model.update(len(data))\n    return sum(data)",
        "net = {'n': 0}",
        "points = [1, 2]",
        "fit(net, points)",  # changes net (its `model`), only reads points
        "points2 = points",
    ]
    assert kept(history, "print(net)") == [1, 2, 3, 4]
    assert kept(history, "print(points)") == [3]


def test_a_method_call_changes_its_object_not_its_arguments() -> None:
    history = ["items = []", "extra = [1]", "items.extend(extra)", "import numpy as np"]
    assert kept(history, "print(extra)") == [2]
    assert kept(history, "print(items)") == [1, 2, 3]
