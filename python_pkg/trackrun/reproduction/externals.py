"""What a reproduction script cannot rebuild from code: outside files, network data, widget
values, secrets, dropped IPython lines and names with no recorded source (written to
inputs.md)."""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from trackrun.reproduction.record import Record

_URL = re.compile(r"^(?:https?|ftp|s3|gs|hf)://\S+$")
_NETWORK_CALLS = frozenset(
    {"urlopen", "urlretrieve", "load_dataset", "from_pretrained", "hf_hub_download", "download"}
)
_NETWORK_ROOTS = frozenset({"requests", "httpx", "urllib", "wget", "gdown", "boto3"})
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass
class OutsideFile:
    """A file the code reads from outside the repository, with what is known of its content."""

    path: Path
    exists: bool
    recorded_sha256: str | None = None
    current_sha256: str | None = None


@dataclass
class Externals:
    """Everything inputs.md lists."""

    files: list[OutsideFile] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    widgets: list[str] = field(default_factory=list)
    #: Environment variables the code reads (``os.environ[...]``, ``os.getenv``).
    environment: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    unknown_outcomes: list[int] = field(default_factory=list)


def find_externals(
    record: Record,
    codes: list[tuple[str, str]],
    dropped: list[str],
    unresolved: set[str],
    params: set[str],
) -> Externals:
    """Scan ``codes`` (``(label, python)`` pairs the script runs) for outside data.

    A string literal naming an existing file, or an absolute/home path, outside the
    repository (the recorded git root, else the working directory) is an outside file; its
    sha256 is the one recorded when an artifact of the same file name was logged.
    """
    out = Externals(dropped=list(dict.fromkeys(dropped)))
    cwd = record.cwd or Path.cwd()
    git = record.provenance.get("git") or {}
    root = Path(git["root"]) if isinstance(git.get("root"), str) else cwd
    artifacts = {str(a.get("name")): a for a in record.artifacts}
    seen: set[Path] = set()
    for label, code in codes:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.strip()
                if _URL.match(text):
                    out.network.append(f"{text} (in {label})")
                    continue
                path = _as_path(text, cwd)
                if path is None or path in seen or _inside(path, root):
                    continue
                seen.add(path)
                out.files.append(_describe(path, artifacts))
            elif isinstance(node, ast.Call):
                note = _network_call(node)
                if note:
                    out.network.append(f"{note} (in {label})")
            variable = _environment_read(node)
            if variable is not None and variable not in out.environment:
                out.environment.append(variable)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [a.name for a in node.names]
                if "ipywidgets" in (module or "") or any("ipywidgets" in n for n in names):
                    out.widgets.append(label)
    out.unresolved = sorted(unresolved - params)
    if record.watched_from is not None:
        out.unknown_outcomes = [n for n, _ in record.history if n < record.watched_from]
    elif record.kind != "script":
        out.unknown_outcomes = [n for n, _ in record.history]
    return out


def _as_path(text: str, cwd: Path) -> Path | None:
    if not text or "\n" in text or len(text) > 4096 or text.startswith(("-", "#")):
        return None
    looks_like = text.startswith(("/", "~/", "../")) and ("/" in text[1:] or "." in text)
    try:
        path = (cwd / Path(text).expanduser()).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    try:
        exists = path.is_file()
    except OSError:
        exists = False
    if exists or looks_like and Path(text).suffix:
        return path
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _describe(path: Path, artifacts: dict[str, dict[str, object]]) -> OutsideFile:
    exists = path.is_file()
    current = _sha256(path) if exists else None
    artifact = artifacts.get(path.name)
    recorded = str(artifact.get("sha256")) if artifact else None
    return OutsideFile(path, exists, recorded, current)


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _network_call(node: ast.Call) -> str | None:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    root_name = root.id if isinstance(root, ast.Name) else None
    if any(k.arg == "download" and _true(k.value) for k in node.keywords):
        return f"{ast.unparse(func)}(..., download=True) fetches data from the network"
    if name in _NETWORK_CALLS or root_name in _NETWORK_ROOTS:
        return f"{ast.unparse(func)}(...) may fetch data from the network"
    return None


def _environment_read(node: ast.AST) -> str | None:
    """The variable of ``os.environ["X"]``, ``os.environ.get("X")`` or ``os.getenv("X")``."""
    if isinstance(node, ast.Subscript):
        key = node.slice
        if _is_environ(node.value) and isinstance(key, ast.Constant):
            return key.value if isinstance(key.value, str) else None
        return None
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    func = node.func
    is_get = isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value)
    is_getenv = (isinstance(func, ast.Name) and func.id == "getenv") or (
        isinstance(func, ast.Attribute) and func.attr == "getenv"
    )
    value = node.args[0].value
    return value if (is_get or is_getenv) and isinstance(value, str) else None


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "environ") or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


def _true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def inputs_markdown(
    record: Record,
    externals: Externals,
    params: dict[str, object],
    secrets: dict[str, str] | None = None,
) -> str:
    """The text of inputs.md. ``params``: those reproduce.py sets; ``secrets``: params
    recorded redacted (name -> recorded text), which it leaves to the code."""
    lines = [
        f"# What reproduce.py cannot rebuild for run {record.name} ({record.run_id})",
        "",
    ]
    lines += ["## Files read from outside the repository", ""]
    if not externals.files:
        lines.append("None found in the code.")
    for item in externals.files:
        state = "present now" if item.exists else "MISSING here"
        if item.recorded_sha256:
            match = (
                "matches"
                if item.current_sha256 == item.recorded_sha256
                else "does NOT match"
                if item.current_sha256
                else "cannot be checked"
            )
            detail = f"recorded sha256 `{item.recorded_sha256}` (logged as an artifact); the file here {match}"
        else:
            detail = "not logged as an artifact, so no checksum was recorded (log it with `trackrun.artifact(path)`)"
            if item.current_sha256:
                detail += f"; sha256 here: `{item.current_sha256}`"
        lines.append(f"- `{item.path}` ({state}): {detail}")
    lines += ["", "## Data from the network", ""]
    lines += [f"- {n}" for n in dict.fromkeys(externals.network)] or ["None found in the code."]
    lines += ["", "## Values typed into widgets", ""]
    if externals.widgets:
        lines.append(_widgets_note(externals.widgets, params))
    else:
        lines.append("None found in the code.")
    if secrets:
        lines += ["", "## Secrets", ""]
        lines += [_secret_note(n, v, externals) for n, v in secrets.items()]
    if externals.environment:
        lines += ["", "## Environment variables the code reads", ""]
        lines += [f"- `{v}`" for v in externals.environment]
    lines += ["", "## IPython lines dropped", ""]
    lines += [f"- `{d}`" for d in externals.dropped] or ["None."]
    lines += ["", "## Names with no recorded source", ""]
    if externals.unresolved:
        lines.append(
            "The tracked code reads these, but no recorded input defines them (they came "
            "from outside the history, e.g. a restarted kernel's startup files):"
        )
        lines += [f"- `{n}`" for n in externals.unresolved]
    else:
        lines.append("None: every name the cell reads is defined above it.")
    if externals.unknown_outcomes:
        lines += [
            "",
            "## Inputs whose outcome was not recorded",
            "",
            "trackrun was not loaded yet when these ran, so whether they failed is unknown; "
            "they are treated as successful: "
            + ", ".join(f"In[{n}]" for n in externals.unknown_outcomes),
        ]
    return "\n".join(lines) + "\n"


def _widgets_note(labels: list[str], params: dict[str, object]) -> str:
    """What reproduce.py does about widget values: recorded params stand in for values the
    cell read as plain names; a widget read directly has its initial value in the script."""
    used = (
        "The notebook used ipywidgets ("
        + ", ".join(labels)
        + "). A value set by hand in a widget is not in the code. "
    )
    if params:
        shown = ", ".join(f"`{k} = {v!r}`" for k, v in params.items())
        return (
            used + f"reproduce.py sets the params recorded for the tracked cell ({shown}), so a "
            "value the cell read through one of these names is the recorded one; code that "
            "reads a widget itself (`slider.value`) gets the widget's initial value instead: "
            "set such values in reproduce.py by hand."
        )
    return (
        used + "No param was recorded for the tracked cell, so code that reads a widget "
        "(`slider.value`) gets the widget's initial value, not the one set by hand: set such "
        "values in reproduce.py by hand."
    )


def _secret_note(name: str, recorded: str, externals: Externals) -> str:
    """One line for a param recorded redacted: where the script gets its value from."""
    head = f"- `{name}`: a secret (recorded as `{recorded}`), so reproduce.py does not set it"
    variable = recorded.removeprefix("<redacted:").removesuffix(">")
    if externals.environment:
        shown = ", ".join(f"`{v}`" for v in externals.environment)
        return (
            f"{head}; the code that defined it runs instead and reads the environment: set "
            f"{shown} in the environment before running."
        )
    if name in externals.unresolved:
        suggested = variable if _ENV_NAME.match(variable) else name.upper()
        return (
            f"{head}, and no recorded input defines it: set it in the environment as "
            f"`{suggested}` and add `{name} = os.environ[{suggested!r}]` above the tracked cell."
        )
    return f"{head}; the code that defined it runs instead (see its input in reproduce.py)."
