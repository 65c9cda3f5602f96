"""Setting a project up for trackrun: jupytext configuration, .gitignore, IPython startup."""

from __future__ import annotations

import os
from pathlib import Path

from trackrun.errors import TrackrunError
from trackrun.pairing import find_pair, foreign_script_warning, notebooks, written_by_jupytext

#: What ``trackrun init`` writes when the project has no jupytext configuration.
JUPYTEXT_TOML = """\
# Written by `trackrun init`. Every notebook saved in JupyterLab gets a paired
# py:percent script beside it (nb.ipynb + nb.py): commit both, review the .py.
# See https://jupytext.readthedocs.io/en/latest/config.html
formats = "ipynb,py:percent"
"""

#: The IPython startup file that ``init_project(ipython_startup=True)`` writes.
IPYTHON_STARTUP = """\
# Written by `trackrun init --ipython-startup`: loads trackrun's IPython extension
# (the %%track_run magic) in every IPython shell and Jupyter kernel. Delete this file
# to stop it. A kernel whose environment has no trackrun starts quietly without it.
try:
    if "trackrun" not in get_ipython().extension_manager.loaded:  # noqa: F821
        get_ipython().run_line_magic("load_ext", "trackrun")  # noqa: F821
except Exception as _trackrun_error:
    if getattr(_trackrun_error, "name", None) != "trackrun":
        print("trackrun: %load_ext trackrun failed:", repr(_trackrun_error))
"""

STARTUP_NAME = "00-trackrun.py"
_IGNORE_LINE = ".trackrun/"
# .gitignore lines that already ignore the store at the root (any of them makes init a no-op).
_IGNORE_FORMS = {
    prefix + ".trackrun" + suffix for prefix in ("", "/", "**/") for suffix in ("", "/", "/**")
}


# -- init -----------------------------------------------------------------------------------
def init_project(
    root: Path, *, ipython_startup: bool = False, ipython_dir: Path | None = None
) -> list[str]:
    """Set the project at ``root`` up for trackrun; return one line per thing done or left alone.

    Writes ``jupytext.toml`` (pair every notebook with a py:percent script) unless ``root``
    already has a jupytext configuration, and makes ``.gitignore`` ignore ``.trackrun/``.
    With ``ipython_startup``, also writes ``profile_default/startup/00-trackrun.py`` under
    ``ipython_dir`` (default ``$IPYTHONDIR``, else ``~/.ipython``) so that every IPython
    kernel loads the trackrun extension. Existing files are never overwritten, so running
    it twice changes nothing the second time. Lines starting "warning:" name scripts that
    sit beside a notebook under the same name without having been written by jupytext
    (pairing would overwrite them). Raises TrackrunError when ``root`` is not a
    folder; OSError when a file cannot be written.
    """
    if not root.is_dir():
        raise TrackrunError(f"{root} is not a folder; run trackrun init inside your project")
    lines = [_init_jupytext_config(root), _init_gitignore(root)]
    if ipython_startup:
        lines.append(_init_ipython_startup(ipython_dir or _default_ipython_dir()))
    return lines + [f"warning: {warning}" for warning in _foreign_scripts(root)]


def _foreign_scripts(root: Path) -> list[str]:
    """Scripts beside same-named notebooks that pairing would adopt though jupytext never wrote."""
    warnings: list[str] = []
    for notebook in notebooks(root):
        if not any(p.stem == notebook.stem for p in notebook.parent.iterdir() if p != notebook):
            continue  # the common case, decided without reading the notebook
        try:
            pair = find_pair(notebook)
        except Exception:  # check_pairing reports unreadable notebooks
            continue
        if pair is not None:
            warnings += [
                foreign_script_warning(pair.ipynb, text)
                for text, _ in pair.texts
                if text.is_file() and not written_by_jupytext(text)
            ]
    return warnings


def _init_jupytext_config(root: Path) -> str:
    from jupytext.config import find_jupytext_configuration_file

    existing = find_jupytext_configuration_file(str(root), search_parent_dirs=False)
    if existing:
        name = Path(existing).name
        where = "[tool.jupytext] in pyproject.toml" if name == "pyproject.toml" else name
        line = f"kept the jupytext configuration in {where} (already there): {_formats(existing)}"
        # jupytext's contents manager skips hidden config files unless allow_hidden is set.
        if name.startswith("."):
            line += (
                f"; note that JupyterLab ignores hidden config files, rename it to "
                f"{name.lstrip('.')}"
            )
        return line
    outer = find_jupytext_configuration_file(str(root.parent), search_parent_dirs=True)
    (root / "jupytext.toml").write_text(JUPYTEXT_TOML, encoding="utf-8")
    line = "wrote jupytext.toml: notebooks saved in JupyterLab get a paired py:percent script"
    if outer:
        line += f" (it takes precedence over {outer} in this project)"
    return line


def _formats(config_file: str) -> str:
    from jupytext.config import load_jupytext_configuration_file

    try:
        config = load_jupytext_configuration_file(config_file)
    except Exception as error:  # a broken config is the user's to fix; init must go on
        return f"it cannot be read ({error})"
    formats = ";".join(config.formats) if config is not None else ""
    return f'formats = "{formats}"' if formats else "it pairs no formats"


def _init_gitignore(root: Path) -> str:
    path = root / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        path.write_text(_IGNORE_LINE + "\n", encoding="utf-8")
        return "created .gitignore ignoring .trackrun/ (the local run store)"
    if any(line.strip() in _IGNORE_FORMS for line in text.splitlines()):
        return ".gitignore already ignores .trackrun/"
    separator = "" if not text or text.endswith("\n") else "\n"
    path.write_text(f"{text}{separator}{_IGNORE_LINE}\n", encoding="utf-8")
    return "added .trackrun/ to .gitignore (the local run store)"


def _default_ipython_dir() -> Path:
    # Same rule as IPython.paths.get_ipython_dir, without importing IPython here.
    env = os.environ.get("IPYTHONDIR")
    return Path(env).expanduser() if env else Path.home() / ".ipython"


def _init_ipython_startup(ipython_dir: Path) -> str:
    path = ipython_dir / "profile_default" / "startup" / STARTUP_NAME
    if path.exists():
        if path.read_text(encoding="utf-8") == IPYTHON_STARTUP:
            return f"IPython startup file {path} already there"
        return f"left {path} alone: it exists with other content (delete it to get trackrun's)"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(IPYTHON_STARTUP, encoding="utf-8")
    return f"wrote {path}: every IPython kernel now loads the trackrun extension (%%track_run)"
