"""Setting a project up for trackrun: notebook pairing (jupytext), .gitignore, IPython startup."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrun.errors import TrackrunError

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
_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages"}


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
    for notebook in _notebooks(root):
        if not any(p.stem == notebook.stem for p in notebook.parent.iterdir() if p != notebook):
            continue  # the common case, decided without reading the notebook
        try:
            pair = _find_pair(notebook)
        except Exception:  # check_pairing reports unreadable notebooks
            continue
        if pair is not None:
            warnings += [
                _foreign(pair.ipynb, text)
                for text, _ in pair.texts
                if text.is_file() and not _written_by_jupytext(text)
            ]
    return warnings


def _written_by_jupytext(text: Path) -> bool:
    content = text.read_text(encoding="utf-8", errors="replace")
    return "jupytext" in content[:4096] or any(
        line.startswith("# %%") for line in content.splitlines()
    )


def _foreign(ipynb: Path, text: Path) -> str:
    return (
        f"{text} was not written by jupytext, yet with pairing on JupyterLab treats it as the "
        f"script of {ipynb}: saving the notebook overwrites it, and opening the notebook takes "
        f"its code when it is newer. Rename one of the two files."
    )


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


# -- pairing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pair:
    """The files of one paired notebook, as jupytext's contents manager sees them."""

    ipynb: Path
    texts: list[tuple[Path, dict[str, Any]]]  # the text files of the pair and their formats
    config: Any  # jupytext's JupytextConfiguration, or None


def check_pairing(notebook: Path) -> str | None:
    """Say whether JupyterLab can open the paired notebook ``notebook`` as its files stand.

    ``notebook`` is the ``.ipynb`` or its paired text file. Returns None when the code in
    the ``.ipynb`` and in its paired script agree, when the notebook is not paired, or when
    one of the two files does not exist yet; otherwise a message in plain words naming the
    newer file, what JupyterLab will do, and the command that fixes it (typically after a
    ``git checkout``, ``stash`` or ``pull`` rewrote only one file of the pair). Raises
    TrackrunError when ``notebook`` does not exist.
    """
    if not notebook.is_file():
        raise TrackrunError(f"{notebook}: no such notebook")
    try:
        pair = _find_pair(notebook)
    except Exception as error:  # jupytext rejects the file itself
        return _unreadable(notebook, error)
    if pair is None or not pair.ipynb.is_file():
        return None
    texts = [(path, fmt) for path, fmt in pair.texts if path.is_file()]
    if not texts:
        return None
    import jupytext

    text, fmt = max(texts, key=lambda item: item[0].stat().st_mtime)
    if not _written_by_jupytext(text):
        return _foreign(pair.ipynb, text)
    try:
        from_text = jupytext.read(str(text), fmt=fmt, config=pair.config)
    except Exception as error:
        return _unreadable(text, error)
    try:
        from_ipynb = jupytext.read(str(pair.ipynb), config=pair.config)
    except Exception as error:
        return _unreadable(pair.ipynb, error)
    # Compare the way jupytext's contents manager does: both rendered in the text format.
    if jupytext.writes(from_text, fmt=fmt, config=pair.config) == jupytext.writes(
        from_ipynb, fmt=fmt, config=pair.config
    ):
        return None
    margin = float(getattr(pair.config, "outdated_text_notebook_margin", 1.0))
    return _disagreement(pair.ipynb, text, margin)


def check_pairs(root: Path) -> list[str]:
    """``check_pairing`` on every notebook under ``root``: the messages, one per problem pair.

    Walks ``root`` like ``sync_pairs`` (hidden folders and virtual environments skipped);
    an empty list means every paired notebook opens cleanly. Raises TrackrunError when
    ``root`` is not a folder.
    """
    if not root.is_dir():
        raise TrackrunError(f"{root} is not a folder")
    return [message for nb in _notebooks(root) if (message := check_pairing(nb)) is not None]


def _disagreement(ipynb: Path, text: Path, margin: float) -> str:
    t_ipynb, t_text = ipynb.stat().st_mtime, text.stat().st_mtime
    sync = f"`jupytext --sync {shlex.quote(str(ipynb))}`"
    diff = f"`jupytext --diff {shlex.quote(str(ipynb))} {shlex.quote(str(text))}`"
    if t_ipynb > t_text + margin:
        return (
            f"{ipynb} (modified {_when(t_ipynb)}) is newer than its paired {text} "
            f"(modified {_when(t_text)}) and their code differs, so JupyterLab will refuse to "
            f'open it ("{ipynb} ... is more recent than {text} ..."). A git checkout, stash '
            f"or pull that rewrote only one of the two files does this. To keep the newer "
            f"{ipynb}, run {sync}: it rewrites {text} from the newest file. To keep {text} "
            f"instead, touch it (`touch {shlex.quote(str(text))}`) and run the same command, "
            f"which keeps the outputs of unchanged cells. {diff} shows the differences."
        )
    if t_ipynb > t_text:
        return (
            f"{ipynb} and {text} were saved within {margin:g} s of each other but their code "
            f"differs: JupyterLab would open the code of {text}, while {sync} would keep "
            f"{ipynb}'s. Touch the file whose code you want and run {sync}. {diff} shows the "
            f"differences."
        )
    return (
        f"{text} (modified {_when(t_text)}) is newer than {ipynb} (modified {_when(t_ipynb)}) "
        f"and their code differs: JupyterLab will open the notebook with the code of {text} "
        f"and keep the outputs of unchanged cells from {ipynb}. Run {sync} to update {ipynb} "
        f"now; if {text} is the stale one (restored by git), delete it instead and JupyterLab "
        f"writes it again from {ipynb} on the next save. {diff} shows the differences."
    )


def _unreadable(path: Path, error: Exception) -> str:
    return (
        f"{path} cannot be read as a notebook ({type(error).__name__}: {error}). If a git "
        f"merge left conflict markers in it, resolve them, or restore it with "
        f"`git checkout -- {shlex.quote(str(path))}`; then run `jupytext --sync` on the notebook."
    )


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _find_pair(notebook: Path) -> _Pair | None:
    """The pair of ``notebook`` (by its metadata or the jupytext config); None if unpaired."""
    import jupytext
    from jupytext.config import load_jupytext_config, notebook_formats
    from jupytext.paired_paths import find_base_path_and_format, paired_paths

    config = load_jupytext_config(os.path.abspath(notebook))
    nb = jupytext.read(str(notebook), config=config)
    formats = notebook_formats(nb, config, str(notebook), fallback_on_current_fmt=False)
    if not formats or len(formats) < 2:
        return None
    _, fmt = find_base_path_and_format(str(notebook), formats)
    files = [(Path(path), dict(alt)) for path, alt in paired_paths(str(notebook), fmt, formats)]
    ipynbs = [path for path, alt in files if alt.get("extension") == ".ipynb"]
    if not ipynbs:
        return None
    texts = [(path, alt) for path, alt in files if alt.get("extension") != ".ipynb"]
    return _Pair(ipynb=ipynbs[0], texts=texts, config=config)


def sync_pairs(root: Path) -> list[str]:
    """Run ``jupytext --sync`` on every paired ``.ipynb`` under ``root``; return what it did.

    A pair is the notebook and the scripts jupytext pairs it with (by ``jupytext.toml`` or
    the notebook's own metadata); sync brings every file of a pair to the newest one's code,
    keeping the outputs of unchanged cells, and writes a missing script. Hidden folders,
    ``node_modules`` and virtual environments are skipped, and so is a notebook whose
    same-named script jupytext never wrote (syncing would overwrite that script). One line
    per paired notebook: what was rewritten, "already in sync", "skipped ...: reason", or
    "could not sync ...: reason" (a broken notebook does not stop the others). Raises
    TrackrunError when ``root`` is not a folder.
    """
    if not root.is_dir():
        raise TrackrunError(f"{root} is not a folder")
    from jupytext.cli import jupytext as jupytext_cli

    lines: list[str] = []
    for notebook in _notebooks(root):
        name = notebook.relative_to(root)
        try:
            pair = _find_pair(notebook)
        except Exception as error:
            lines.append(f"could not sync {name}: {type(error).__name__}: {error}")
            continue
        if pair is None:
            continue
        foreign = [p for p, _ in pair.texts if p.is_file() and not _written_by_jupytext(p)]
        if foreign:
            lines.append(f"skipped {name}: {_foreign(pair.ipynb, foreign[0])}")
            continue
        files = [pair.ipynb, *(path for path, _ in pair.texts)]
        before = {path: _fingerprint(path) for path in files}
        newest = max((p for p in files if before[p]), key=lambda p: p.stat().st_mtime)
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                status = jupytext_cli(["--sync", str(notebook)])
        except Exception as error:
            lines.append(f"could not sync {name}: {type(error).__name__}: {error}")
            continue
        if status:
            lines.append(f"could not sync {name}: {log.getvalue().strip()}")
            continue
        changed = [p for p in files if _fingerprint(p) != before[p]]
        if not changed:
            lines.append(f"{name}: already in sync")
            continue
        source = newest.relative_to(root)
        for path in changed:
            verb = "updated" if before[path] else "wrote"
            lines.append(f"{name}: {verb} {path.relative_to(root)} from {source}")
    return lines or [f"no paired notebooks under {root}"]


def _notebooks(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            and not (Path(folder, d) / "pyvenv.cfg").exists()
        )
        found += [Path(folder, f) for f in sorted(files) if f.endswith(".ipynb")]
    return found


def _fingerprint(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
