"""IPython-only lines (magics, ``!cmd``) turned into plain Python, or dropped with a comment."""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass, field

from trackrun.reproduction.shell import SHELL_HELPER

#: Magics that only change display or tooling; dropping them changes no state the run reads.
_NO_EFFECT = frozenset(
    {
        "matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport",
        "precision", "who", "whos", "who_ls", "pinfo", "pinfo2", "psearch", "history", "hist",
        "lsmagic", "xmode", "pdb", "debug", "page", "pwd", "ls", "magic", "quickref", "doctest_mode",
        "colors", "pprint", "automagic", "autocall", "notebook", "alias_magic", "dirs", "dhist",
        "timeit", "prun", "lprun", "memit", "mprun", "tb", "recall", "rerun", "save", "logstart",
        "logstop", "logon", "logoff", "logstate", "qtconsole", "connect_info", "clear", "cls",
        "pip", "conda", "mamba", "uv",
    }
)  # fmt: skip
_DISPLAY_CELLS = frozenset({"html", "javascript", "js", "markdown", "latex", "svg", "HTML"})
_SHELL_CELLS = frozenset({"bash", "sh", "script"})


@dataclass
class Translated:
    """One executed input as plain Python.

    ``code``: the Python text; ``dropped``: a note per IPython line that has no Python
    equivalent (the code holds a comment in its place); ``tracked``: the input was a
    ``%%track_run`` cell (``code`` is its body); ``opaque``: the code defines names no
    analysis can see (``%run``), so a slice must keep it.
    """

    code: str
    dropped: list[str] = field(default_factory=list)
    tracked: bool = False
    opaque: bool = False


def raw_to_transformed(cell: str) -> str:
    """Turn a raw cell's IPython syntax into ``get_ipython()`` calls, as IPython does.

    Handles a leading ``%%magic``, lines starting with ``!`` or ``%`` (also ``x = !cmd`` and
    ``x = %magic``), and help lines ending in ``?``. Text inside other constructs is left as is.
    """
    lines = cell.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name, _, line = first[2:].partition(" ")
        body = "\n".join(lines[1:])
        return f"get_ipython().run_cell_magic({name!r}, {line.strip()!r}, {body!r})\n"
    out = []
    for text in lines:
        stripped = text.lstrip()
        indent = text[: len(text) - len(stripped)]
        target, sep, rest = stripped.partition("=")
        if sep and target.strip().isidentifier() and rest.lstrip().startswith(("!", "%")):
            value = _line_call(rest.strip(), assigned=True)
            out.append(f"{indent}{target.strip()} = {value}")
        elif stripped.startswith(("!", "%")) and not stripped.startswith("%%"):
            out.append(indent + _line_call(stripped))
        elif stripped.endswith("?") and stripped[:-1].rstrip("?").replace(".", "").isidentifier():
            out.append(f"{indent}get_ipython().run_line_magic('pinfo', {stripped.rstrip('?')!r})")
        else:
            out.append(text)
    return "\n".join(out)


def _line_call(text: str, assigned: bool = False) -> str:
    """IPython's call for one ``!cmd``/``%magic`` line; ``x = !cmd`` keeps the output."""
    if text.startswith("!!"):
        return f"get_ipython().getoutput({text[2:].strip()!r})"
    if text.startswith("!") and assigned:
        return f"get_ipython().getoutput({text[1:].strip()!r})"
    if text.startswith("!"):
        return f"get_ipython().system({text[1:].strip()!r})"
    name, _, line = text[1:].partition(" ")
    return f"get_ipython().run_line_magic({name!r}, {line.strip()!r})"


def translate(source: str) -> Translated:
    """Plain Python for ``source`` in IPython's transformed form (``get_ipython()`` calls).

    A ``%%track_run`` (or other cell magic) input becomes its body; ``!cmd`` and ``x = !cmd``
    become calls of the script's ``_sh`` helper (shell.py); ``%cd`` and ``%env`` become ``os``
    calls; display and tooling magics are dropped with a comment. Code that does not parse
    is returned unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return Translated(source)
    if len(tree.body) == 1 and _is_magic_call(tree.body[0], "run_cell_magic"):
        call = tree.body[0].value  # type: ignore[attr-defined]
        literal = _literals(call)
        if literal is not None and len(literal) == 3:
            return _cell_magic(*literal)
    return _translate_lines(source, tree)


def _cell_magic(name: str, line: str, body: str) -> Translated:
    if name == "track_run":
        inner = translate(raw_to_transformed(body))
        return Translated(inner.code, inner.dropped, tracked=True, opaque=inner.opaque)
    if name in ("time", "capture", "prun"):
        inner = translate(raw_to_transformed(body))
        return Translated(inner.code, inner.dropped, opaque=inner.opaque)
    if name == "writefile":
        args = shlex.split(line)
        append = "-a" in args or "--append" in args
        path = next((a for a in args if not a.startswith("-")), "")
        mode = "a" if append else "w"
        code = f"with open({path!r}, {mode!r}) as _f:\n    _f.write({body!r})\n"
        return Translated(code)
    if name in _SHELL_CELLS:
        shell = line.split()[0] if name == "script" and line.split() else name
        return Translated(
            f"subprocess.run({body!r}, shell=True, executable={_which(shell)!r}, check=False)\n"
        )
    note = f"%%{name} {line}".strip()
    why = "display only" if name in _DISPLAY_CELLS else "no Python equivalent"
    return Translated(f"pass  # dropped IPython cell magic: {note} ({why})\n", [note + f": {why}"])


def _which(shell: str) -> str:
    return shell if shell.startswith("/") else f"/bin/{shell}"


def _translate_lines(source: str, tree: ast.Module) -> Translated:
    """Replace each ``get_ipython().method(...)`` call by its Python equivalent, in place."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for text in lines:
        offsets.append(offsets[-1] + len(text))
    edits: list[tuple[int, int, str]] = []
    result = Translated(source)
    statements = {id(s.value): s for s in ast.walk(tree) if isinstance(s, ast.Expr)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_ipython_call(node)):
            continue
        statement = statements.get(id(node))
        method = node.func.attr  # type: ignore[attr-defined]
        literal = _literals(node)
        replacement, note, opaque = _equivalent(method, literal, statement is not None)
        result.opaque |= opaque
        if note:
            result.dropped.append(note)
        target = statement if statement is not None else node
        start = offsets[target.lineno - 1] + _col(lines, target.lineno, target.col_offset)
        end = offsets[target.end_lineno - 1] + _col(  # type: ignore[operator]
            lines,
            target.end_lineno,  # type: ignore[arg-type]
            target.end_col_offset,  # type: ignore[arg-type]
        )
        edits.append((start, end, replacement))
    text = source
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    result.code = text
    return result


def _col(lines: list[str], lineno: int, col: int) -> int:
    """AST column offsets count UTF-8 bytes; turn one into a character offset."""
    return len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8", "replace"))


def _equivalent(method: str, literal: list[str] | None, whole: bool) -> tuple[str, str, bool]:
    """(replacement text, note when dropped, opaque) for one ``get_ipython().method(...)``."""
    drop_value = "pass" if whole else "None"
    if literal is None:
        note = f"get_ipython().{method}(...) with computed arguments"
        return f"{drop_value}  # dropped IPython call: {note}", note + ": cannot translate", False
    if method in ("system", "getoutput") and literal:
        # The helper expands $name and {expr} at run time, as IPython does (see shell.py).
        capture = ", capture=True" if method == "getoutput" else ""
        return f"{SHELL_HELPER}({literal[0]!r}, globals(), locals(){capture})", "", False
    if method == "run_line_magic" and len(literal) == 2:
        return _line_magic(literal[0], literal[1], whole)
    note = f"get_ipython().{method}({', '.join(map(repr, literal))})"
    return f"{drop_value}  # dropped IPython call: {note}", note + ": no Python equivalent", False


def _line_magic(name: str, line: str, whole: bool) -> tuple[str, str, bool]:
    drop_value = "pass" if whole else "None"
    if name == "cd":
        return f"os.chdir(os.path.expanduser({line.strip() or '~'!r}))", "", False
    if name == "env" and ("=" in line or len(line.split()) == 2):
        key, _, value = line.partition("=") if "=" in line else line.partition(" ")
        return f"os.environ.update({{{key.strip()!r}: {value.strip()!r}}})", "", False
    if name == "time" and whole:
        return line, "", False
    if name == "run" and whole and line.strip():
        args = shlex.split(line)
        script = next((a for a in args if not a.startswith("-")), "")
        return f"globals().update(runpy.run_path({script!r}, run_name='__main__'))", "", True
    note = f"%{name} {line}".strip()
    if name == "track_run":
        why = "a detached run's outputs; the script runs that cell inline instead"
    elif name in _NO_EFFECT:
        why = (
            "display or tooling only"
            if name not in ("pip", "conda", "mamba", "uv")
            else ("installs packages; requirements.txt pins them")
        )
    else:
        why = "no Python equivalent"
    return f"{drop_value}  # dropped IPython magic: {note} ({why})", f"{note}: {why}", False


def _is_ipython_call(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
    )


def _is_magic_call(statement: ast.stmt, method: str) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and _is_ipython_call(statement.value)
        and statement.value.func.attr == method  # type: ignore[attr-defined]
    )


def _literals(call: ast.Call) -> list[str] | None:
    """The call's positional string arguments, or None when one is not a string literal."""
    values = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return None
        values.append(arg.value)
    return values
