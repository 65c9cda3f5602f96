"""Detach + attach leaves the kernel as if the cell had run in it: each case is run inline
(the reference) and detached, in real kernels with real background jobs, and compared."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from trackrun.store import Store

from ..kernels import Kernel, error_of, stdout_of
from ..notebooks import make_git_project

pytestmark = pytest.mark.slow


def run_id_of(text: str) -> str:
    match = re.search(r"detached run \S+ \((\d{8}-\d{6}-[0-9a-f]{6})\)", text)
    assert match, text
    return match.group(1)


def wait_ended(project: Path, run_id: str, timeout: float = 240) -> str:
    """Wait until the run has a final status; return it."""
    store = Store(project / ".trackrun", lease=0)
    deadline = time.time() + timeout
    status = ""
    while time.time() < deadline:
        status = str(store.summary(run_id)["status"])
        if status in ("finished", "failed", "lost", "killed"):
            break
        time.sleep(0.3)
    return status


def wait_finished(project: Path, run_id: str, timeout: float = 240) -> None:
    status = wait_ended(project, run_id, timeout)
    log = project / ".trackrun" / "runs" / run_id / "output.log"
    assert status == "finished", (status, log.read_text() if log.exists() else "")


def ok(kernel: Kernel, code: str, timeout: float = 240) -> str:
    messages = kernel.run(code, timeout=timeout)
    text = stdout_of(messages)
    error = error_of(messages)
    assert error is None, (text, error)
    return text


def last_json(text: str) -> dict[str, object]:
    line = [x for x in text.splitlines() if x.startswith("{")][-1]
    result: dict[str, object] = json.loads(line)
    return result


def run_case(
    project: Path, setup: str, cell: str, check: str, mode: str, options: str = ""
) -> tuple[dict[str, object], str]:
    """Run ``setup`` then ``cell`` (inline, detached and attached in the same kernel, or
    detached with the kernel shut down mid-run and a NEW kernel attaching); then ``check``,
    which prints one JSON line. Returns that JSON and the attach output."""
    kernel = Kernel.start(project)
    attach_text = ""
    try:
        ok(kernel, "%load_ext trackrun")
        ok(kernel, setup)
        if mode == "inline":
            ok(kernel, f"%%track_run {options}\n{cell}")
        else:
            run_id = run_id_of(ok(kernel, f"%%track_run --detach {options}\n{cell}"))
            if mode == "new-kernel":
                kernel.shutdown()  # mid-run: the job goes on without its kernel
                wait_finished(project, run_id)
                kernel = Kernel.start(project)
                ok(kernel, "%load_ext trackrun")
            attach_text = ok(kernel, f"%track_run --attach {run_id}")
            assert "trackrun: loaded" in attach_text, attach_text
        return last_json(ok(kernel, check)), attach_text
    finally:
        kernel.shutdown()


def close(a: object, b: object) -> bool:
    """Equal, numbers to 1e-6 (the same float32 math in two processes)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


IDENTITY_SETUP = """
import torch
torch.manual_seed(0)
model = torch.nn.Linear(4, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)   # made in an earlier cell
w_ref = model.weight
C = torch.randn(5, 3, requires_grad=True)
W1 = torch.randn(3, 2, requires_grad=True)
parameters = [C, W1]
history = []
alias = history
tensors = {"C": C, "w": model.weight}
X = torch.randn(8, 4)
def make_peek():
    w = model.weight
    return lambda: round(float(w.sum()), 6)
peek = make_peek()
"""
IDENTITY_CELL = """
assert alias is history and w_ref is model.weight and tensors["C"] is C and parameters[0] is C
start = peek()
opt2 = torch.optim.SGD(parameters, lr=0.05)
for step in range(25):
    loss = model(X).pow(2).mean() + (torch.ones(8, 5) @ C @ W1).pow(2).mean()
    opt.zero_grad(); opt2.zero_grad(); loss.backward(); opt.step(); opt2.step()
    history.append(round(loss.item(), 6))
"""
IDENTITY_CHECK = """
import json
rel = dict(
    alias=alias is history, p0=parameters[0] is C, p1=parameters[1] is W1,
    w_ref=w_ref is model.weight, opt=opt.param_groups[0]["params"][0] is model.weight,
    opt_state=model.weight in opt.state, opt2=opt2.param_groups[0]["params"][0] is C,
    tensors=tensors["w"] is model.weight and tensors["C"] is C,
    grad=C.grad is not None,
)
vals = dict(w=model.weight.detach().tolist(), C=C.detach().tolist(), history=history,
            peek=peek(), mom=opt.state[model.weight]["momentum_buffer"].tolist())
before = model.weight.detach().clone()
loss = model(X).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
rel["step_moves_model"] = not torch.equal(before, model.weight.detach())
vals["w_after_step"] = model.weight.detach().tolist()
print(json.dumps(dict(rel=rel, vals=vals)))
"""

GLOBALS_SETUP = """
import torch
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
data = torch.randn(16, 4)
counter = 0
seen = []
def train(steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        loss = model(data).pow(2).mean(); opt.zero_grad(); loss.backward(); opt.step()
    return round(loss.item(), 6)
def bump(x):
    global counter
    counter += 1
    seen.append(x)
"""
GLOBALS_CELL = 'final = train(30)\nbump("a")\nbump("b")'
GLOBALS_CHECK = """
import json
g = dict(train=train.__globals__ is globals(), bump=bump.__globals__ is globals())
vals = dict(w=model.weight.detach().tolist(), final=final, counter=counter, seen=list(seen))
bump("c"); train(1)
vals.update(counter2=counter, seen2=list(seen), w2=model.weight.detach().tolist())
print(json.dumps(dict(g=g, vals=vals)))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_git_project(tmp_path / "project")


@pytest.mark.parametrize("mode", ["same-kernel", "new-kernel"])
def test_identity_and_in_place_merge_match_inline(project: Path, mode: str) -> None:
    inline, _ = run_case(project, IDENTITY_SETUP, IDENTITY_CELL, IDENTITY_CHECK, "inline")
    detached, text = run_case(project, IDENTITY_SETUP, IDENTITY_CELL, IDENTITY_CHECK, mode)
    assert all(inline["rel"].values()), inline  # type: ignore[union-attr]
    assert detached["rel"] == inline["rel"], (detached["rel"], text)
    assert close(detached["vals"], inline["vals"]), (detached["vals"], inline["vals"])
    if mode == "same-kernel":
        assert "in place: " in text and "model" in text.split("in place: ")[1], text


@pytest.mark.parametrize("mode", ["same-kernel", "new-kernel"])
def test_notebook_functions_use_the_namespace_as_globals(project: Path, mode: str) -> None:
    inline, _ = run_case(project, GLOBALS_SETUP, GLOBALS_CELL, GLOBALS_CHECK, "inline")
    detached, text = run_case(project, GLOBALS_SETUP, GLOBALS_CELL, GLOBALS_CHECK, mode)
    assert inline["g"] == {"train": True, "bump": True}
    assert detached["g"] == inline["g"], text
    assert close(detached["vals"], inline["vals"]), (detached["vals"], inline["vals"])
    assert detached["vals"]["counter2"] == 3  # type: ignore[index]


def test_what_cannot_merge_is_rebound_and_named(project: Path) -> None:
    """An array resized in place cannot take its new shape into the kernel's array: it is
    rebound, its value is the job's, and the attach message names it with the reason."""
    setup = "import numpy as np\narr = np.zeros(3)\nkeep = arr\nsmall = np.zeros(2)\nmine = small"
    cell = "arr.resize(5, refcheck=False)\narr[:] = 7\nsmall += 1"
    check = (
        "import json\nprint(json.dumps(dict(arr=arr.tolist(), small=small.tolist(), "
        "small_same=mine is small, arr_same=keep is arr)))"
    )
    inline, _ = run_case(project, setup, cell, check, "inline")
    detached, text = run_case(project, setup, cell, check, "same-kernel")
    assert inline == {"arr": [7.0] * 5, "small": [1.0, 1.0], "small_same": True, "arr_same": True}
    assert detached == {**inline, "arr_same": False}, text
    assert re.search(r"rebound \(could not merge in place.*\): arr \(shape or dtype changed", text)


RECORDS_SETUP = """
import gc, weakref, torch
from trackrun.jobs.launch_records import recorded
def held(ref):
    gc.collect()
    return ref() is not None
"""


def test_launch_records_go_when_nothing_will_be_loaded(project: Path) -> None:
    """The kernel's launch record holds named lists (here of tensors) until attach. It is
    dropped when the attached run failed, on ``--no-load``, and, at the next attach or
    launch, for runs that ended without outputs or were deleted: the tensors are freed."""
    kernel = Kernel.start(project)
    try:
        ok(kernel, "%load_ext trackrun")
        ok(kernel, RECORDS_SETUP)
        cases = {}
        for name, cell in [
            ("failed", "raise ValueError('boom')"),
            ("no_load", "x = 1"),
            ("never_attached", "raise ValueError('boom')"),
            ("deleted", "y = 2"),
        ]:
            ok(kernel, f"{name} = [torch.zeros(1000)]\n{name}_ref = weakref.ref({name}[0])")
            cases[name] = run_id_of(ok(kernel, f"%%track_run --detach\nn = len({name})\n{cell}"))
        for run_id in cases.values():
            wait_ended(project, run_id)
        kernel.run(f"%track_run --attach {cases['failed']}")
        ok(kernel, f"%track_run --attach {cases['no_load']} --no-load")
        shutil.rmtree(project / ".trackrun" / "runs" / cases["deleted"])
        ok(kernel, "del failed, no_load, never_attached, deleted")
        check = "print(json.dumps({n: [recorded(r), held(globals()[n + '_ref'])] for n, r in %r.items()}))"
        before = last_json(ok(kernel, "import json\n" + check % cases))
        # The next launch prunes the record of the deleted run.
        wait_finished(project, run_id_of(ok(kernel, "%%track_run --detach\nz = 3")))
        after = last_json(ok(kernel, check % cases))
    finally:
        kernel.shutdown()
    # The attaches dropped their own runs' records, and that of the run that failed
    # unattached; the run folder deleted after them is found at the next launch.
    assert before == {
        "failed": [False, False],
        "no_load": [False, False],
        "never_attached": [False, False],
        "deleted": [True, True],
    }, before
    assert after == {name: [False, False] for name in cases}, after


MAGIC_CELL = """%time total = sum(range(1000))
!echo shell-says-hi
%env MY_SETTING=abc
import os
setting = os.environ["MY_SETTING"]
"""
CAPTURE_CELL = "%%capture cap\nprint('captured text')\n"


def test_magics_run_in_the_job_as_inline(project: Path) -> None:
    check = "import json\nprint(json.dumps(dict(total=total, setting=setting)))"
    inline, _ = run_case(project, "", MAGIC_CELL, check, "inline")
    detached, _ = run_case(project, "", MAGIC_CELL, check, "same-kernel")
    assert detached == inline == {"total": 499500, "setting": "abc"}
    runs = sorted((project / ".trackrun" / "runs").iterdir())
    logs = [(r / "output.log").read_text() for r in runs]
    for log in logs:  # inline, then detached: the same lines
        assert "shell-says-hi" in log and "Wall time" in log, log
    cap_check = "import json\nprint(json.dumps(dict(out=cap.stdout)))"
    inline, _ = run_case(project, "", CAPTURE_CELL, cap_check, "inline")
    detached, _ = run_case(project, "", CAPTURE_CELL, cap_check, "same-kernel")
    assert detached == inline == {"out": "captured text\n"}


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("%matplotlib widget", "%matplotlib widget"),
        ("%run -i other.py", "%run -i"),
        ("%debug", "%debug"),
        ("import ipywidgets", "widget display (ipywidgets)"),
    ],
)
def test_frontend_magics_are_refused_before_launch(project: Path, line: str, named: str) -> None:
    kernel = Kernel.start(project)
    try:
        ok(kernel, "%load_ext trackrun")
        messages = kernel.run(f"%%track_run --detach\n{line}\nx = 1")
        shown = stdout_of(messages) + json.dumps(error_of(messages))
        assert named in shown and "nothing was started" in shown, shown
    finally:
        kernel.shutdown()
    runs = project / ".trackrun" / "runs"
    assert not runs.exists() or not list(runs.iterdir())


DISPLAY_CELL = (
    "from IPython.display import display, Image\nimport base64\n"
    "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
    "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=')\n"
    "display(Image(data=png))\ndisplay({'a': 1})\ndone = True"
)


def test_displays_in_the_job_land_in_the_run(project: Path) -> None:
    _, text = run_case(project, "", DISPLAY_CELL, "print('{}')", "same-kernel")
    (run,) = (project / ".trackrun" / "runs").iterdir()
    assert (run / "artifacts" / "display-1.png").read_bytes().startswith(b"\x89PNG")
    log = (run / "output.log").read_text()
    assert "saved as artifacts/display-1.png" in log and "{'a': 1}" in log, log
    # The image is also the run's media, as a figure shown in an inline cell would be.
    media = Store(project / ".trackrun", lease=0).media(run.name).to_dicts()
    assert media == [
        {"key": "figure-0", "step": 0, "path": "media/figure-0/0.png", "width": 1, "height": 1}
    ]
    assert (run / "media" / "figure-0" / "0.png").read_bytes() == (
        run / "artifacts" / "display-1.png"
    ).read_bytes()


def test_no_capture_figures_reaches_the_detached_job(project: Path) -> None:
    run_case(project, "", DISPLAY_CELL, "print('{}')", "same-kernel", "--no-capture-figures")
    (run,) = (project / ".trackrun" / "runs").iterdir()
    # The display is still kept as an artifact; it is not logged as media.
    assert (run / "artifacts" / "display-1.png").read_bytes().startswith(b"\x89PNG")
    assert Store(project / ".trackrun", lease=0).media(run.name).to_dicts() == []
    assert not (run / "media").exists()


HF_TOKEN = "hf_" + "A1b2C3d4" * 5
DB_PASSWORD = "pw-s3cret-9981"
SECRET_ENV = {
    "HF_TOKEN": HF_TOKEN,
    "DATABASE_URL": f"postgres://user:{DB_PASSWORD}@db.example/x",
    "JUPYTER_TOKEN": "jt-0123456789abcdef",
    "JUPYTERHUB_API_TOKEN": "jh-0123456789abcdef",
}
SECRET_CELL = """import os, hashlib
seen = {k: hashlib.sha256(os.environ.get(k, "").encode()).hexdigest() for k in ("HF_TOKEN", "DATABASE_URL")}
jupyter = sorted(k for k in os.environ if k.startswith(("JUPYTER", "JPY_API")))
print("job sees", sorted(k for k in ("HF_TOKEN", "DATABASE_URL") if k in os.environ))
print("token", os.environ["HF_TOKEN"], "url", os.environ["DATABASE_URL"])  # printed, not kept
"""
SECRET_CHECK = "import json\nprint(json.dumps(dict(seen=seen, jupyter=jupyter)))"


def expected_hashes() -> dict[str, str]:
    import hashlib

    return {
        k: hashlib.sha256(SECRET_ENV[k].encode()).hexdigest() for k in ("HF_TOKEN", "DATABASE_URL")
    }


def assert_store_holds_no_secret(store: Path) -> None:
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "spec.json" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in (HF_TOKEN, DB_PASSWORD, "jt-0123456789abcdef", "jh-0123456789abcdef"):
            assert secret.encode() not in data, (secret, path)


def test_secrets_reach_the_job_through_memory_only(project: Path) -> None:
    kernel = Kernel.start(project, env=SECRET_ENV)
    try:
        ok(kernel, "%load_ext trackrun")
        run_id = run_id_of(ok(kernel, f"%%track_run --detach\n{SECRET_CELL}"))
        ok(kernel, f"%track_run --attach {run_id}")
        detached = last_json(ok(kernel, SECRET_CHECK))
    finally:
        kernel.shutdown()
    assert detached == {"seen": expected_hashes(), "jupyter": []}
    spec = json.loads((project / ".trackrun" / "runs" / run_id / "job" / "spec.json").read_text())
    assert "HF_TOKEN" in spec["secret_names"] and "<redacted" in spec["env"]["DATABASE_URL"]
    assert_store_holds_no_secret(project / ".trackrun")


def test_server_launched_job_gets_the_servers_secrets(project: Path) -> None:
    from ..kernels import JupyterServer

    (project / "s.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    server = JupyterServer.start(project, env=SECRET_ENV)
    try:
        kernel_id = server.start_kernel("s.ipynb")
        server.run(
            kernel_id,
            "%load_ext trackrun\nimport os\nos.environ['KERNEL_ONLY_TOKEN'] = 'ko-123456789abc'",
        )
        launched = stdout_of(server.run(kernel_id, f"%%track_run --detach\n{SECRET_CELL}"))
        run_id = run_id_of(launched)
        handle = json.loads(
            (project / ".trackrun" / "runs" / run_id / "job" / "handle.json").read_text()
        )
        assert handle["backend"] == "server", handle
        assert "KERNEL_ONLY_TOKEN" in launched and "will not have it" in launched, launched
        server.run(kernel_id, f"%track_run --attach {run_id}")
        detached = last_json(stdout_of(server.run(kernel_id, SECRET_CHECK)))
    finally:
        server.stop()
    assert detached == {"seen": expected_hashes(), "jupyter": []}
    assert_store_holds_no_secret(project / ".trackrun")


class _CreatesFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_tampered_and_copied_outputs_are_refused(project: Path, tmp_path: Path) -> None:
    import pickle
    import shutil

    kernel = Kernel.start(project)
    try:
        ok(kernel, "%load_ext trackrun")
        tampered = run_id_of(ok(kernel, "%%track_run --detach\nx = [1, 2]"))
        copied = run_id_of(ok(kernel, "%%track_run --detach\ny = {'a': 3}"))
        wait_finished(project, tampered)
        wait_finished(project, copied)
        marker = tmp_path / "pwned"
        outputs = project / ".trackrun" / "runs" / tampered / "job" / "outputs.pkl"
        outputs.write_bytes(pickle.dumps({"names": {"x": _CreatesFile(marker)}, "grads": []}))
        messages = kernel.run(f"%track_run --attach {tampered}")
        shown = json.dumps(error_of(messages)) + stdout_of(messages)
        assert "changed after this store wrote them" in shown, shown
        assert not marker.exists()
        assert "NameError" in json.dumps(error_of(kernel.run("x")))

        other = tmp_path / "other-store"
        shutil.copytree(project / ".trackrun" / "runs" / copied, other / "runs" / copied)
        messages = kernel.run(f"%track_run --attach {copied} --store {other}")
        shown = json.dumps(error_of(messages)) + stdout_of(messages)
        assert (
            "outputs were written by another store; `%track_run --attach "
            f"{copied} --trust` loads them anyway" in shown
        ), shown
        assert "NameError" in json.dumps(error_of(kernel.run("y")))
        ok(kernel, f"%track_run --attach {copied} --store {other} --trust")
        assert last_json(ok(kernel, "import json\nprint(json.dumps(y))")) == {"a": 3}
    finally:
        kernel.shutdown()


MLP_SETUP = """
import random, torch
random.seed(0)
syllables = ["ka", "ri", "mo", "na", "le", "to", "sa", "vi", "du", "pe", "lo", "mi", "ra", "ne", "su"]
words = ["".join(random.choice(syllables) for _ in range(random.randint(1, 4))) for _ in range(3000)]
stoi = {c: i + 1 for i, c in enumerate(sorted(set("".join(words))))}
stoi["."] = 0
X, Y = [], []
for w in words:
    context = [0, 0, 0]
    for ch in w + ".":
        X.append(context); Y.append(stoi[ch]); context = context[1:] + [stoi[ch]]
X, Y = torch.tensor(X), torch.tensor(Y)
g = torch.Generator().manual_seed(2147483647)
C = torch.randn((len(stoi), 10), generator=g)
W1 = torch.randn((30, 200), generator=g) * 0.2
b1 = torch.randn(200, generator=g) * 0.01
W2 = torch.randn((200, len(stoi)), generator=g) * 0.01
b2 = torch.zeros(len(stoi))
parameters = [C, W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True
def full_loss():
    with torch.no_grad():
        h = torch.tanh(C[X].view(-1, 30) @ W1 + b1)
        return torch.nn.functional.cross_entropy(h @ W2 + b2, Y).item()
def train(steps, lr, batch=32):
    for _ in range(steps):
        ix = torch.randint(0, X.shape[0], (batch,), generator=g) if batch else slice(None)
        h = torch.tanh(C[X[ix]].view(-1, 30) @ W1 + b1)
        loss = torch.nn.functional.cross_entropy(h @ W2 + b2, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
    return loss.item()
start_loss = full_loss()
"""
#: Steps per chunk: 24 chunks take about 80 s of one core here (0.16 ms a step), so the
#: detached job trains for over a minute, as the issue asks. Fixed, so the inline run of
#: the same cell is the reference.
MLP_STEPS = 20_000
MLP_CELL = f"""
for chunk in range(24):
    batch_loss = train({MLP_STEPS}, 0.1 if chunk < 18 else 0.01)
    trackrun.log(loss=batch_loss, full=full_loss(), step=chunk)
job_loss = full_loss()
"""
MLP_CHECK = """
import json
same = parameters[0] is C and parameters[1] is W1 and parameters[4] is b2
after_job = full_loss()
train(100, 0.05, batch=None)  # 100 more full-batch steps, inline
print(json.dumps(dict(same=same, start=start_loss, job=job_loss, after_job=after_job,
                      continued=full_loss(), C=C[:2].tolist())))
"""


@pytest.mark.timeout(900)
def test_char_mlp_trained_detached_continues_inline(tmp_path: Path) -> None:
    """A realistic notebook: a character-level MLP trained from a list of parameter tensors
    that are also named one by one, for over a minute; detach, attach, then 100 more steps
    in the kernel. The inline reference trains at the same time in a second kernel (one
    core each), so the test takes about as long as the job."""
    modes = ("inline", "same-kernel")
    projects = {mode: make_git_project(tmp_path / mode) for mode in modes}
    kernels: dict[str, Kernel] = {}
    try:
        for mode in modes:  # one thread each: the same float math in both, 2 shared cores
            kernels[mode] = Kernel.start(projects[mode], env={"OMP_NUM_THREADS": "1"})
            ok(kernels[mode], "%load_ext trackrun")
            ok(kernels[mode], MLP_SETUP)
        run_id = run_id_of(ok(kernels["same-kernel"], f"%%track_run --detach\n{MLP_CELL}"))
        ok(kernels["inline"], f"%%track_run\n{MLP_CELL}", timeout=900)
        text = ok(kernels["same-kernel"], f"%track_run --attach {run_id}", timeout=900)
        assert "in place: " in text and "W1" in text, text
        results = {mode: last_json(ok(kernel, MLP_CHECK)) for mode, kernel in kernels.items()}
    finally:
        for kernel in kernels.values():
            kernel.shutdown()
    inline, detached = results["inline"], results["same-kernel"]
    run = Store(projects["same-kernel"] / ".trackrun", lease=0).summary(run_id)
    assert run["ended_at"] - run["started_at"] >= 55, run  # it trained for a minute
    assert detached["same"] is True
    assert detached["after_job"] == detached["job"]  # the kernel holds what the job left
    assert float(detached["job"]) < float(detached["start"]) - 0.5  # type: ignore[arg-type]
    assert float(detached["continued"]) < float(detached["job"])  # type: ignore[arg-type]
    assert close(detached, inline), (detached, inline)
