"""What the kernel knows about the cell being run: notebook path, cell id, history; code files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trackrun.capture import notebook_as_percent_script
from trackrun.layout import RunPaths
from trackrun.notebook_moves import follow_moves


def notebook_path(shell: Any, store_root: Path | None = None) -> Path | None:
    """Path of the notebook the kernel runs, when the frontend told the kernel (JupyterLab
    sets ``__session__`` / ``JPY_SESSION_NAME``; VS Code sets ``__vsc_ipynb_file__``).

    The kernel keeps the path it was started with: after the notebook was renamed or moved,
    the store's record of moves (``store_root``, written by the Jupyter server) says where
    it is now. None when no source names an existing notebook."""
    candidates = [
        shell.user_ns.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
        shell.user_ns.get("__vsc_ipynb_file__"),
        os.environ.get("TRACKRUN_NOTEBOOK"),
    ]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.endswith(".ipynb"):
            continue
        path = Path(candidate)
        options = [path, Path.cwd() / path, Path.cwd() / path.name]
        if store_root is not None:
            options += [follow_moves(store_root, o.absolute()) for o in options[:2]]
        for option in options:
            if option.is_file():
                return option.resolve()
    return None


def cell_id(shell: Any) -> str | None:
    """The id of the cell being executed (JupyterLab sends it in the request metadata)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = (
            kernel.get_parent("shell") if hasattr(kernel, "get_parent") else kernel._parent_header
        )
    except Exception:  # older ipykernel signatures; the id is optional
        return None
    metadata = (parent or {}).get("metadata") or {}
    value = metadata.get("cellId") or metadata.get("cell_id")
    return str(value) if value else None


def executed_history(shell: Any) -> str:
    """The kernel's executed inputs In[1..n] as one text, each headed ``# In[k]``."""
    inputs = shell.user_ns.get("In") or []
    parts = [f"# In[{i}]\n{source}\n" for i, source in enumerate(inputs) if i and source]
    return "\n".join(parts)


def write_code_files(paths: RunPaths, cell: str, notebook: Path | None, shell: Any) -> list[str]:
    """Write ``code/cell.py`` (the cell exactly as run), ``code/notebook.py`` (py:percent
    text of the notebook on disk, outputs dropped) and ``code/history.py``; returns the
    names written."""
    folder = paths.code
    folder.mkdir(exist_ok=True, mode=0o700)
    written = []
    (folder / "cell.py").write_text(cell, encoding="utf-8")
    written.append("cell.py")
    if notebook is not None:
        text = notebook_as_percent_script(notebook)
        if text is not None:
            (folder / "notebook.py").write_text(text, encoding="utf-8")
            written.append("notebook.py")
    history = executed_history(shell)
    if history:
        (folder / "history.py").write_text(history, encoding="utf-8")
        written.append("history.py")
    return written
