"""The house rules of the package, proved from its source: layers, fences, a light import.

Static checks read every module's imports (top level and inside functions) with ``ast``;
the dynamic check imports ``trackrun`` in a fresh interpreter and looks at ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python_pkg" / "trackrun"

#: The layer of each top-level module or subpackage (docs/architecture.md): a module imports
#: only from its own layer or below; the layer-5 front ends never import each other.
LAYERS: dict[str, int] = {
    "errors": 1,
    "ids": 1,
    "layout": 1,
    "cellcode": 1,
    "table": 1,
    "values": 1,
    "config": 1,
    "redaction": 1,
    "signing": 1,
    "events": 2,
    "capture": 2,
    "liveness": 2,
    "health": 2,
    "notebook_moves": 2,
    "project": 2,
    "codecapture": 2,
    "event_writer": 2,
    "metric_lines": 2,
    "pairing": 2,
    "run": 3,
    "run_process": 2,
    "checkpoints": 2,
    "media": 3,
    "store": 3,
    "charts": 3,
    "api": 4,
    "jobs": 4,
    "comparison": 4,
    "comparison_stats": 4,
    "codediff": 4,
    "reproduce": 4,
    "reproduction": 4,
    "magic": 5,
    "server": 5,
    "cli": 5,
}
FRONT_ENDS = {"magic", "server", "cli"}

#: Third-party packages fenced into one part of the package, and who may import them.
FENCES: dict[str, tuple[str, ...]] = {
    # Table.to_duckdb() converts a result on the user's request (a lazy import).
    "duckdb": ("store", "table"),
    "tornado": ("server",),
    "jupyter_server": ("server",),
    "IPython": ("magic", "jobs.runner", "jobs.shell"),
    "ipywidgets": ("magic",),
    "altair": ("charts",),
    "PIL": ("media",),
    "matplotlib": ("media",),
}


def _modules() -> dict[str, Path]:
    """Dotted name (without ``trackrun.``) -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str) -> list[tuple[str, int]]:
    """(imported dotted name, line) for every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[tuple[str, int]] = []
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # `if TYPE_CHECKING:` imports never run
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["trackrun", *package][: len(package) + 2 - node.level]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names.append((target, node.lineno))
            if target == "trackrun":  # `from trackrun import jobs` names a submodule
                names.extend((f"trackrun.{a.name}", node.lineno) for a in node.names)
    return names


def _owner(module: str) -> str:
    return module.split(".")[0]


def test_every_module_has_a_layer() -> None:
    unknown = sorted({_owner(m) for m in _modules() if m and _owner(m) not in LAYERS})
    assert not unknown, f"add these modules to LAYERS in {__file__}: {unknown}"


def test_no_module_imports_upward_and_front_ends_stay_apart() -> None:
    problems = []
    for module, path in _modules().items():
        if not module:
            continue  # the package face (trackrun/__init__) may hand on anything
        mine = _owner(module)
        if mine not in LAYERS:
            continue  # test_every_module_has_a_layer names it
        for name, line in _imports(path, module):
            if not name.startswith("trackrun.") or name == "trackrun":
                continue
            theirs = _owner(name.removeprefix("trackrun."))
            if theirs == mine or theirs not in LAYERS:
                continue
            if LAYERS[theirs] > LAYERS[mine]:
                problems.append(
                    f"{path.name}:{line} ({mine}, layer {LAYERS[mine]}) imports {name} (layer {LAYERS[theirs]})"
                )
            elif mine in FRONT_ENDS and theirs in FRONT_ENDS:
                problems.append(f"{path.name}:{line}: front end {mine} imports front end {theirs}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("library", sorted(FENCES))
def test_heavy_libraries_stay_behind_their_fence(library: str) -> None:
    allowed = FENCES[library]
    problems = []
    for module, path in _modules().items():
        if any(module == a or module.startswith(a + ".") for a in allowed):
            continue
        for name, line in _imports(path, module):
            if name == library or name.startswith(library + "."):
                problems.append(f"trackrun.{module} ({path.name}:{line}) imports {name}")
    assert not problems, f"{library} may only be imported in {allowed}:\n" + "\n".join(problems)


def test_torch_is_never_imported_at_module_level() -> None:
    problems = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "torch" or n.startswith("torch.") for n in names):
                problems.append(f"trackrun.{module}:{node.lineno}")
    assert not problems, "torch imported at import time in: " + ", ".join(problems)


def test_import_trackrun_stays_light() -> None:
    # What a training process pays for `import trackrun` and one log call: none of the heavy
    # libraries, and no open index.
    script = (
        "import sys, json, tempfile, trackrun\n"
        "with trackrun.start_run(store=tempfile.mkdtemp()):\n"
        "    trackrun.log(loss=0.5, step=1)\n"
        "heavy = ['duckdb', 'IPython', 'torch', 'tornado', 'jupyter_server', 'altair', "
        "'ipywidgets', 'pandas', 'pyarrow', 'PIL', 'matplotlib']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_front_ends_use_the_jobs_package_face_only() -> None:
    # api, cli, magic and server call ``trackrun.jobs`` and nothing below it.
    problems = []
    for module, path in _modules().items():
        if _owner(module) not in (*FRONT_ENDS, "api"):
            continue
        for name, line in _imports(path, module):
            if name.startswith("trackrun.jobs."):
                problems.append(f"trackrun.{module} ({path.name}:{line}) imports {name}")
    assert not problems, "\n".join(problems)


def test_the_job_and_its_supervisor_never_import_duckdb() -> None:
    # Training processes log by appending to files: no index, no DuckDB, no IPython kernel.
    script = (
        "import sys, json, trackrun.jobs.runner, trackrun.jobs.supervisor\n"
        "print(json.dumps([m for m in ('duckdb', 'tornado', 'jupyter_server', 'altair') "
        "if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_no_module_of_jobs_is_named_like_a_function_the_package_exports() -> None:
    # Importing a submodule sets it as an attribute of its package: `jobs/reconcile.py` once
    # replaced the function `jobs.reconcile` with a module as soon as it was first imported.
    import trackrun.jobs

    modules = {p.stem for p in (PACKAGE / "jobs").glob("*.py")} | {"backends"}
    clashes = [
        name
        for name in trackrun.jobs.__all__
        if name in modules
        and getattr(getattr(trackrun.jobs, name), "__module__", None) == "trackrun.jobs"
    ]
    assert clashes == []
