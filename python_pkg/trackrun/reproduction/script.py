"""The text of reproduce.py: the slice, the params, then the tracked code in a linked run."""

from __future__ import annotations

import ast
import io
import keyword
import shlex
import tokenize
from dataclasses import dataclass, field
from typing import Any

from trackrun.cellcode import analyze_cell
from trackrun.errors import TrackrunError
from trackrun.reproduction.effects import Effects, analyze
from trackrun.reproduction.ipython import Translated, raw_to_transformed, translate
from trackrun.reproduction.record import Record
from trackrun.reproduction.shell import SHELL_HELPER, helper_source
from trackrun.reproduction.slice import Input, Slice, build_inputs, compute_slice

_PREAMBLE = """\
import os
import runpy
import subprocess
import sys
import tempfile

import trackrun
from trackrun.cellcode import final_scalars
"""
#: What the preamble imports, with each name's package: the slice knows these names before
#: any input (``subprocess.run`` is a library call, not a change of an unknown name).
PREAMBLE_PACKAGES = analyze(_PREAMBLE).imports
#: How a redacted param was recorded (trackrun.redaction): its value is not in the record.
_REDACTED = "<redacted"


@dataclass
class Script:
    """reproduce.py for one run: ``text``, the ``slice`` it holds (None for a script run),
    the ``target`` (the tracked code as plain Python), the ``params`` it sets and the
    ``secrets``: params recorded redacted (name -> recorded text), left to the code."""

    text: str
    target: Translated
    slice: Slice | None = None
    inputs: list[Input] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def build_script(record: Record) -> Script:
    """Compose reproduce.py for ``record``. Raises TrackrunError when the tracked code does
    not parse (it cannot have run)."""
    if record.kind == "script":
        return _script_run(record)
    assert record.cell is not None
    target = translate(raw_to_transformed(record.cell))
    try:
        effects = analyze(target.code)
    except SyntaxError as error:
        raise TrackrunError(
            f"run {record.run_id}: its recorded cell does not parse ({error})"
        ) from None
    params, secrets = _params_block(record, target.code) if record.kind == "cell" else ({}, {})
    inputs = build_inputs(record.history, record.failed)
    sliced = compute_slice(inputs, effects, provided=params, packages=PREAMBLE_PACKAGES)
    parts = [_header(record, sliced), _PREAMBLE]
    if any(f"{SHELL_HELPER}(" in code for code in [target.code, *(i.code for i in sliced.kept)]):
        parts.append(
            "# `!cmd` lines: IPython's expansion of $name and {expr}, then the shell.\n"
            + helper_source()
        )
    parts.append(
        "# A kernel imports modules from its working directory; so does this script.\n"
        "sys.path.insert(0, os.getcwd())\n"
        "# Runs of earlier tracked cells go to a throwaway store, not yours.\n"
        '_SCRATCH = tempfile.mkdtemp(prefix="trackrun-reproduce-")\n'
    )
    for item in sliced.kept:
        parts.append(_input_block(item, sliced.reasons.get(item.number, "")))
    if params:
        lines = [f"{name} = {value!r}" for name, value in params.items()]
        parts.append(
            "# %% params: the values the tracked cell read, as recorded\n" + "\n".join(lines) + "\n"
        )
    parts.append(_target_block(record, target, effects))
    text = "\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    return Script(text, target, sliced, inputs, params, secrets)


def _header(record: Record, sliced: Slice | None) -> str:
    notebook = record.info.get("notebook") or "an unsaved notebook"
    source = record.launch.get("script") if record.kind == "script" else notebook
    lines = [
        f'"""Reproduces trackrun run {record.name} ({record.run_id}), recorded from {source}.',
        "",
        f"Written by `trackrun reproduce {record.run_id}`: README.md names the commit and",
        "patch to check out, inputs.md what this script cannot rebuild from code.",
    ]
    if sliced is not None and sliced.dropped:
        lines += ["", "Inputs of the recorded history left out:"]
        lines += [
            f"  In[{i.number}]: {sliced.reasons.get(i.number, 'dropped')}" for i in sliced.dropped
        ]
    lines.append('"""')
    return "\n".join(lines) + "\n"


def _input_block(item: Input, reason: str) -> str:
    code = item.code.rstrip("\n") or "pass"
    code = rewrite_start_run(code, "store", "_SCRATCH")
    title = f"# %% In[{item.number}]  ({reason})\n"
    if item.translated.tracked:
        return (
            title
            + "# An earlier %%track_run cell: run inside a throwaway run so its logging works.\n"
            + f'with trackrun.start_run(name="In[{item.number}]", store=_SCRATCH):\n'
            + indent_code(code, "    ")
            + "\n"
        )
    return title + code + "\n"


def _target_block(record: Record, target: Translated, effects: Effects) -> str:
    code = target.code.rstrip("\n") or "pass"
    if record.kind == "notebook":
        return (
            "# %% the tracked cell (its start_run calls now name the run they reproduce)\n"
            + rewrite_start_run(code, "reproduces", repr(record.run_id))
            + "\n"
        )
    assigned = analyze_cell(code).assigned
    options = {
        "name": f"{record.name}-reproduced",
        "params": record.info.get("params") or {},
        "tags": record.info.get("tags") or [],
    }
    arguments = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return (
        "# %% the tracked cell, in a run linked to the one it reproduces\n"
        f"with trackrun.start_run({arguments}, reproduces={record.run_id!r}) as _run:\n"
        + indent_code(code, "    ")
        + "\n"
        + "    # Like %%track_run: a cell that logged no metric records its final numbers.\n"
        + f"    _final = final_scalars(globals(), {assigned!r})\n"
        + "    if _final and not _run.logged_metric_keys():\n"
        + "        _run.log(_final, step=0)\n"
    )


def _script_run(record: Record) -> Script:
    assert record.script is not None
    script = record.launch.get("script") or "script.py"
    argv = record.launch.get("argv") or [script]
    source = rewrite_start_run(record.script, "reproduces", repr(record.run_id))
    future, body = _split_future(source)
    text = (
        f"{future}"
        f'"""Reproduces trackrun run {record.name} ({record.run_id}): the script {script}\n'
        f"run as `python {shlex.join(str(a) for a in argv)}`; README.md names the commit,\n"
        'inputs.md what this script cannot rebuild."""\n'
        "import os\nimport sys\n\n"
        f"sys.argv = {[str(a) for a in argv]!r}\n"
        f"__file__ = {str(script)!r}\n"
        "sys.path.insert(0, os.path.dirname(__file__))\n\n"
        f"# %% {script}\n{body.rstrip()}\n"
    )
    return Script(text, Translated(record.script))


def _split_future(source: str) -> tuple[str, str]:
    """``from __future__`` imports must come first in a module: move them to the top."""
    lines = source.splitlines(keepends=True)
    future = [line for line in lines if line.startswith("from __future__ import")]
    rest = [line for line in lines if not line.startswith("from __future__ import")]
    return "".join(future), "".join(rest)


def _params_block(record: Record, code: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Recorded params that the cell read from the notebook (auto params), set before it,
    and the secrets among them: params recorded redacted (``<redacted:api_key>``), whose
    values are not in the record.

    Left to the code: names given by ``--param`` (recorded, never set in the notebook),
    lists (they may have been tuples), names that are not identifiers, and the secrets.
    """
    params = record.info.get("params") or {}
    explicit = _explicit_param_names(str(record.launch.get("magic") or ""))
    try:
        free = set(analyze_cell(code).free)
    except SyntaxError:
        return {}, {}
    out: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for name, value in params.items():
        if name not in free or name in explicit:
            continue
        if isinstance(value, str) and _REDACTED in value:
            secrets[name] = value
        elif name.isidentifier() and not keyword.iskeyword(name) and not isinstance(value, list):
            out[name] = value
    return out, secrets


def _explicit_param_names(magic: str) -> set[str]:
    try:
        words = shlex.split(magic)
    except ValueError:
        return set()
    names = set()
    for i, word in enumerate(words):
        value = None
        if word == "--param" and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith("--param="):
            value = word[len("--param=") :]
        if value:
            names.add(value.partition("=")[0].strip())
    return names


def indent_code(code: str, prefix: str) -> str:
    """``code`` with each line indented by ``prefix``, except the inner lines of multi-line
    strings (indenting them would change the strings)."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    lines = code.split("\n")
    return "\n".join(
        line if (n in inside or not line.strip()) else prefix + line
        for n, line in enumerate(lines, start=1)
    )


def rewrite_start_run(code: str, name: str, value: str) -> str:
    """``code`` with ``name=value`` set in every ``start_run(...)`` call (replacing an
    existing ``name=`` argument). Code that does not parse is returned unchanged."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode("utf-8", "replace"))

    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called != "start_run":
            continue
        existing = next((k for k in node.keywords if k.arg == name), None)
        if existing is not None:
            start = offset(existing.value.lineno, existing.value.col_offset)
            end = offset(existing.value.end_lineno or 0, existing.value.end_col_offset or 0)
            edits.append((start, end, value))
            continue
        close = offset(node.end_lineno or 0, (node.end_col_offset or 1) - 1)
        before = _last_token_before(code, offset(node.lineno, node.col_offset), close)
        sep = {"(": "", ",": " "}.get(before, ", ")
        edits.append((close, close, f"{sep}{name}={value}"))
    for start, end, text in sorted(edits, reverse=True):
        code = code[:start] + text + code[end:]
    return code


def _last_token_before(code: str, start: int, close: int) -> str:
    """The last significant token of ``code[start:close]`` (comments and newlines skipped)."""
    last = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(code[start:close]).readline):
            if token.type not in (
                tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                tokenize.DEDENT, tokenize.ENDMARKER,
            ):  # fmt: skip
                last = token.string
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # an unclosed call segment ends in the middle: what was read is enough
    return last
