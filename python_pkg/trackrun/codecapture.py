"""Code capture for runs started through the API: the script (source, argv, output), or the
notebook cell and history when ``start_run`` runs in a kernel, and the notebook's path in
headless runs; plus which kernel inputs failed (``code/history.json``) for every notebook run.

Called from ``Run.start`` before run.json is written. IPython is never imported here: a
kernel's shell is only looked up when IPython is already loaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from trackrun.layout import OutputLog, RunPaths
from trackrun.liveness import note_output
from trackrun.redaction import redact_text

#: The attribute of the IPython shell holding the outcomes this module watched.
_OUTCOMES = "_trackrun_outcomes"


def ipython_shell() -> Any:
    """The running IPython shell of this process, or None (also when IPython is not loaded)."""
    module = sys.modules.get("IPython")
    get = getattr(module, "get_ipython", None)
    return get() if callable(get) else None


def watch_outcomes(shell: Any) -> None:
    """Record from now on which of ``shell``'s inputs raise (a ``post_run_cell`` hook).

    IPython keeps every executed input but not whether it failed; a slice must drop failed
    inputs, so the hook remembers their execution counts. Idempotent.
    """
    if shell is None or hasattr(shell, _OUTCOMES):
        return
    outcomes: dict[str, Any] = {
        "watched_from": int(getattr(shell, "execution_count", 1)),
        "failed": [],
    }
    setattr(shell, _OUTCOMES, outcomes)

    def after(result: Any) -> None:
        count = getattr(result, "execution_count", None)
        if count is not None and not getattr(result, "success", True):
            outcomes["failed"].append(int(count))

    shell.events.register("post_run_cell", after)


def watch_current_shell() -> None:
    """``watch_outcomes`` for this process's kernel, if it runs in one (cheap otherwise)."""
    if "IPython" in sys.modules:
        watch_outcomes(ipython_shell())


class CodeCapture:
    """What ``capture_code`` started: for a script, the copy of its output into output.log.

    ``tee()`` starts copying stdout/stderr into the log; ``stop()`` (called when the run
    ends or is released) puts the streams back and closes the log.
    """

    def __init__(self, log: Path | None) -> None:
        self._log = log
        self._handle: Any = None
        self._tees: list[tuple[str, _Tee]] = []

    def tee(self) -> None:
        """Copy stdout/stderr into output.log from now until ``stop()``."""
        if self._log is None or self._handle is not None:
            return
        self._handle = OutputLog.open(self._log)
        for name in ("stdout", "stderr"):
            tee = _Tee(getattr(sys, name), self._handle)
            setattr(sys, name, tee)
            self._tees.append((name, tee))

    def stop(self) -> None:
        """Stop copying: restore the streams (where nobody replaced them since) and close."""
        for name, tee in self._tees:
            tee.detach_log()
            if getattr(sys, name) is tee:
                _retired.append(tee)
                setattr(sys, name, tee.stream)
        self._tees.clear()
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def capture_code(paths: RunPaths, record: dict[str, Any], status: str) -> CodeCapture:
    """Fill ``record`` (about to become run.json) and ``code/`` for code no magic recorded.

    In a kernel: ``code/history.json`` (failed inputs), the notebook path when the frontend
    did not say it (headless runs), and, for ``start_run`` (no ``launch`` yet), the cell,
    the notebook text and the executed history. In a script: ``code/script.py`` and
    ``launch = {"kind": "script", "script", "argv"}``, and output.log from then on.
    """
    shell = ipython_shell()
    if shell is not None and hasattr(shell, "user_ns"):
        _capture_kernel(paths, record, shell)
        return CodeCapture(None)
    if record.get("launch") or status != "running":
        return CodeCapture(None)
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    process = (record.get("provenance") or {}).get("process") or {}
    argv = process.get("argv") if isinstance(process.get("argv"), list) else list(sys.argv)
    launch: dict[str, Any] = {"kind": "script", "script": None, "argv": argv}
    if isinstance(script, str) and _is_user_script(script):
        launch["script"] = str(Path(script).resolve())
        _code_dir(paths)
        text = Path(script).read_text(encoding="utf-8", errors="replace")
        (paths.code / "script.py").write_text(text, encoding="utf-8")
    record["launch"] = launch
    return CodeCapture(paths.output_log)


def _is_user_script(script: str) -> bool:
    """True for a .py file of the user's, not an installed program's entry point (``python
    -m pytest`` runs pytest's ``__main__``: its source says nothing about the run)."""
    if not script.endswith(".py") or not os.path.isfile(script):
        return False
    import sysconfig

    path = os.path.realpath(script)
    installed = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")}
    return not any(path.startswith(os.path.realpath(root) + os.sep) for root in installed)


def _capture_kernel(paths: RunPaths, record: dict[str, Any], shell: Any) -> None:
    watch_outcomes(shell)
    folder = _code_dir(paths)
    outcomes = getattr(shell, _OUTCOMES, {"watched_from": None, "failed": []})
    current = int(getattr(shell, "execution_count", 0))
    (folder / "history.json").write_text(
        json.dumps({"current": current, **outcomes}), encoding="utf-8"
    )
    raw = current_cell(shell)
    if not record.get("notebook"):
        found = notebook_path(shell, raw)
        if found is not None:
            from trackrun.capture import notebook_as_percent_script  # jupytext: only here

            record["notebook"] = str(found)
            text = notebook_as_percent_script(found)
            if text is not None and not (folder / "notebook.py").exists():
                (folder / "notebook.py").write_text(text, encoding="utf-8")
    if record.get("launch"):
        return  # the magic records the cell and the history itself
    record["launch"] = {"kind": "notebook"}
    record["cell_id"] = record.get("cell_id") or cell_id(shell)
    (folder / "cell.py").write_text(raw, encoding="utf-8")
    inputs = shell.user_ns.get("In") or []
    history = "\n".join(f"# In[{i}]\n{src}\n" for i, src in enumerate(inputs) if i and src)
    if history:
        (folder / "history.py").write_text(history, encoding="utf-8")


def _code_dir(paths: RunPaths) -> Path:
    paths.code.mkdir(exist_ok=True, mode=0o700)
    return paths.code


def current_cell(shell: Any) -> str:
    """The raw text of the cell being executed (as typed, magics included)."""
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or [""]
    return str(raw[-1])


def cell_id(shell: Any) -> str | None:
    """The executing cell's id, which JupyterLab and nbclient send in the request metadata."""
    kernel = getattr(shell, "kernel", None)
    try:
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:  # older ipykernel signatures: the id is optional
        return None
    metadata = (parent or {}).get("metadata") or {}
    value = metadata.get("cellId") or metadata.get("cell_id")
    return str(value) if value else None


def notebook_path(shell: Any, cell: str) -> Path | None:
    """The notebook a kernel runs, from the most to the least reliable source.

    1. What a frontend tells the kernel: ``__session__``, ``$JPY_SESSION_NAME`` (JupyterLab),
       ``__vsc_ipynb_file__`` (VS Code), ``$TRACKRUN_NOTEBOOK``.
    2. The command line of the process that started the kernel (``jupyter nbconvert
       --execute NB``, ``papermill IN OUT``, ``jupyter execute NB``): a notebook named
       there that holds the executing ``cell``.
    3. The kernel's working directory (the caller's, unless nbclient is given a resources
       path or papermill ``--cwd``): the one notebook there that holds the executing
       ``cell``.
    None when no source names a notebook, or several notebooks there hold the cell.
    """
    named = [
        shell.user_ns.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
        shell.user_ns.get("__vsc_ipynb_file__"),
        os.environ.get("TRACKRUN_NOTEBOOK"),
    ]
    for candidate in named:
        if isinstance(candidate, str) and candidate.endswith(".ipynb"):
            path = Path(candidate)
            for option in (path, Path.cwd() / path, Path.cwd() / path.name):
                if option.is_file():
                    return option.resolve()
    for path in _parent_command_notebooks():
        if _holds_cell(path, cell):
            return path
    here = [p for p in sorted(Path.cwd().glob("*.ipynb")) if _holds_cell(p, cell)]
    return here[0].resolve() if len(here) == 1 else None


def _parent_command_notebooks() -> list[Path]:
    """Notebook paths on the command line of the kernel's parent process (Linux /proc)."""
    parent = os.getppid()
    try:
        argv = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
        cwd = Path(os.readlink(f"/proc/{parent}/cwd"))
    except OSError:
        return []
    out = []
    for raw in argv:
        arg = raw.decode("utf-8", "replace")
        if arg.endswith(".ipynb"):
            path = (cwd / arg).resolve()
            if path.is_file():
                out.append(path)
    return out


def _holds_cell(path: Path, cell: str) -> bool:
    """True when the notebook at ``path`` has a code cell whose source is ``cell``."""
    wanted = cell.strip()
    if not wanted:
        return False
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells") or []
    except (OSError, ValueError, AttributeError):
        return False
    for item in cells:
        source = item.get("source") if isinstance(item, dict) else None
        text = "".join(source) if isinstance(source, list) else source
        if item.get("cell_type") == "code" and isinstance(text, str) and text.strip() == wanted:
            return True
    return False


#: Tees taken out of sys.stdout/stderr stay referenced: ``print`` holds only a borrowed
#: reference to the stream it writes to, so freeing one inside its own ``write`` (a run
#: finished from a signal handler mid-print) would crash.
_retired: list[_Tee] = []


class _Tee:
    """A stream that also appends what it writes to a run's output.log, until detached;
    everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO, log: Any) -> None:
        self.stream = stream
        self._stream = stream
        self._log: Any = log

    def detach_log(self) -> None:
        """Stop copying into the log (the stream itself keeps working)."""
        self._log = None

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        if self._log is not None:
            note_output()
            # If the log went away, the console still gets the text.
            with contextlib.suppress(OSError, ValueError):
                self._log.write(redact_text(text).encode("utf-8", "replace"))
        return written

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
