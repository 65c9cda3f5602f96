"""``!cmd`` in a reproduction script: IPython's shell expansion and run, without IPython.

reproduce.py must run where IPython is not installed, so ``_sh_fields`` and ``_sh`` are
copied into its preamble (``helper_source``); each imports what it needs itself, so a
notebook that rebinds ``os`` or ``re`` cannot break them. ``command_reads`` tells the slice
which notebook names a command may read.
"""

from __future__ import annotations

import ast
import inspect

from trackrun.cellcode import analyze_nodes

#: The name a translated ``!cmd`` calls: ``_sh(template, globals(), locals())``.
SHELL_HELPER = "_sh"


def _sh_fields(template: str) -> list[tuple[str, str | None, str | None]]:
    """``template`` cut as IPython's DollarFormatter cuts it: ``(literal, field, conversion)``
    parts, where ``field`` is a Python expression to evaluate (None after the last literal).

    ``{expr}`` is a field (``{{`` is a brace); ``$name`` and ``$a.b`` are fields unless inside
    single quotes; ``$$name`` is the text ``$name``. Raises ValueError on unbalanced braces.
    """
    import re
    import string

    dollar = re.compile(r"(.*?)\$(\$?[\w\.]+)(?=([^']*'[^']*')*[^']*$)")
    parts: list[tuple[str, str | None, str | None]] = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        text, done = "", 0
        for match in dollar.finditer(literal):
            before, name = match.group(1, 2)
            if name.startswith("$"):
                text += before + name
            else:
                parts.append((text + before, name, None))
                text = ""
            done = match.end()
        if field is not None and spec:
            field = field + ":" + spec  # IPython allows slices: {x[1:3]}
        parts.append((text + literal[done:], field, conversion))
    return parts


def _sh(
    template: str, globals_: dict[str, object], locals_: dict[str, object], capture: bool = False
) -> object:
    """Run the shell command ``template`` as IPython's ``!cmd`` (``capture``: ``x = !cmd``).

    Expansion as IPython's: every ``{expr}`` and ``$name`` is evaluated in the caller's
    namespace; when any of them fails (an unknown name such as ``$HOME``, braces that are
    not Python such as awk's ``{print $1}``), the command runs unexpanded, so the shell sees
    ``$HOME``. Output (stderr merged) goes to ``sys.stdout``, and the exit status to
    ``_exit_code``; with ``capture`` it is returned as a list of lines instead (IPython's
    SList is such a list; its extras ``.s``, ``.n``, ``.grep`` are not rebuilt).
    """
    import codecs
    import os
    import string
    import subprocess
    import sys

    namespace = {**globals_, **locals_}
    try:
        command = ""
        for literal, field, conversion in _sh_fields(template):
            command += literal
            if field is not None:
                value = eval(field, namespace)  # the notebook's own code, as IPython does
                command += format(string.Formatter().convert_field(value, conversion), "")
    except Exception:
        command = template
    sys.stdout.flush()
    sys.stderr.flush()
    if capture:
        done = subprocess.run(
            command,
            shell=True,
            executable=os.environ.get("SHELL"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        return done.stdout.decode(errors="replace").splitlines()
    process = subprocess.Popen(
        command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    assert process.stdout is not None
    while chunk := os.read(process.stdout.fileno(), 65536):
        sys.stdout.write(decoder.decode(chunk))
        sys.stdout.flush()
    sys.stdout.write(decoder.decode(b"", final=True))
    globals_["_exit_code"] = process.wait()
    return None


def helper_source() -> str:
    """The source of the helpers, as reproduce.py defines them."""
    return inspect.getsource(_sh_fields) + "\n\n" + inspect.getsource(_sh)


def command_reads(template: str) -> set[str]:
    """Notebook names that shell command ``template`` reads when they exist (``$n``, ``{n*2}``);
    the names of fields that are not Python (awk's ``{print $1}``) are none."""
    try:
        parts = _sh_fields(template)
    except ValueError:
        return set()
    out: set[str] = set()
    for _, field, _ in parts:
        if field is None:
            continue
        try:
            expression = ast.parse(field.strip(), mode="eval")
        except SyntaxError:
            continue
        out.update(analyze_nodes([ast.Expr(expression.body)]).free)
    return out
