"""Notebook pairing (jupytext): is a pair consistent, and syncing pairs without losing edits."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackrun.errors import TrackrunError
from trackrun.layout import create_private_file, is_group_shared, make_dir, write_json_atomic

_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages"}


def written_by_jupytext(text: Path) -> bool:
    content = text.read_text(encoding="utf-8", errors="replace")
    return "jupytext" in content[:4096] or any(
        line.startswith("# %%") for line in content.splitlines()
    )


def foreign_script_warning(ipynb: Path, text: Path) -> str:
    return (
        f"{text} was not written by jupytext, yet with pairing on JupyterLab treats it as the "
        f"script of {ipynb}: saving the notebook overwrites it, and opening the notebook takes "
        f"its code when it is newer. Rename one of the two files."
    )


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
        pair = find_pair(notebook)
    except Exception as error:  # jupytext rejects the file itself
        return _unreadable(notebook, error)
    if pair is None or not pair.ipynb.is_file():
        return None
    texts = [(path, fmt) for path, fmt in pair.texts if path.is_file()]
    if not texts:
        return None
    import jupytext

    text, fmt = max(texts, key=lambda item: item[0].stat().st_mtime)
    if not written_by_jupytext(text):
        return foreign_script_warning(pair.ipynb, text)
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
    return [message for nb in notebooks(root) if (message := check_pairing(nb)) is not None]


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


def find_pair(notebook: Path) -> _Pair | None:
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
    same-named script jupytext never wrote (syncing would overwrite that script).

    Nothing is lost: a pair whose notebook and script BOTH changed since the last sync (by
    the hashes this function records in ``.trackrun/pairing-state.json``, else against git's
    HEAD) and whose code differs is refused, with both times and a diff summary; every file
    sync overwrites is first copied to ``.trackrun/pairing-backup/<time>/<path>``.

    One line per paired notebook: what was rewritten, "already in sync", "skipped ...:
    reason", or "could not sync ...: reason" (a refused or broken notebook does not stop the
    others). Raises TrackrunError when ``root`` is not a folder.
    """
    if not root.is_dir():
        raise TrackrunError(f"{root} is not a folder")
    from jupytext.cli import jupytext as jupytext_cli

    state_path = root / STATE_FILE
    state = _read_state(state_path)
    backup_dir = root / BACKUP_DIR / time.strftime("%Y%m%d-%H%M%S")
    lines: list[str] = []
    for notebook in notebooks(root):
        name = notebook.relative_to(root)
        try:
            pair = find_pair(notebook)
        except Exception as error:
            lines.append(f"could not sync {name}: {type(error).__name__}: {error}")
            continue
        if pair is None:
            continue
        foreign = [p for p, _ in pair.texts if p.is_file() and not written_by_jupytext(p)]
        if foreign:
            lines.append(f"skipped {name}: {foreign_script_warning(pair.ipynb, foreign[0])}")
            continue
        files = [pair.ipynb, *(path for path, _ in pair.texts)]
        before = {path: _read(path) for path in files}
        try:
            conflict = _both_changed(root, pair, before, state)
        except Exception as error:  # an unreadable side: jupytext would fail the same way
            lines.append(f"could not sync {name}: {type(error).__name__}: {error}")
            continue
        if conflict:
            lines.append(f"could not sync {name}: {conflict}")
            continue
        newest = max((p for p in files if before[p] is not None), key=lambda p: p.stat().st_mtime)
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
        after = {path: _read(path) for path in files}
        for path, content in after.items():
            if content is not None:
                state[_key(root, path)] = _digest(content)
        changed = [p for p in files if after[p] != before[p]]
        if not changed:
            lines.append(f"{name}: already in sync")
            continue
        source = newest.relative_to(root)
        for path in changed:
            old = before[path]
            if old is None:
                lines.append(f"{name}: wrote {path.relative_to(root)} from {source}")
                continue
            backup = backup_dir / path.relative_to(root)
            _make_store_dirs(root, backup.parent)
            with create_private_file(backup) as f:
                f.write(old)
            lines.append(
                f"{name}: updated {path.relative_to(root)} from {source} "
                f"(previous version kept in {backup.relative_to(root)})"
            )
    _write_state(state_path, state)
    return lines or [f"no paired notebooks under {root}"]


#: Hashes of every paired file as the last sync left it (relative to the project root).
STATE_FILE = Path(".trackrun") / "pairing-state.json"
#: Where sync keeps the files it overwrote, one folder per sync.
BACKUP_DIR = Path(".trackrun") / "pairing-backup"


def _both_changed(
    root: Path, pair: _Pair, before: dict[Path, bytes | None], state: dict[str, str]
) -> str | None:
    """Why syncing ``pair`` would lose edits (both sides changed, code differs), or None."""
    import jupytext

    if before[pair.ipynb] is None:
        return None
    for text, fmt in pair.texts:
        if before[text] is None:
            continue
        if not (_changed(root, pair.ipynb, before, state) and _changed(root, text, before, state)):
            continue
        # Compared as jupytext's contents manager does: both rendered in the text format.
        mine = jupytext.writes(
            jupytext.read(str(text), fmt=fmt, config=pair.config), fmt=fmt, config=pair.config
        )
        theirs = jupytext.writes(
            jupytext.read(str(pair.ipynb), config=pair.config), fmt=fmt, config=pair.config
        )
        if mine == theirs:
            continue
        t_nb, t_text = pair.ipynb.stat().st_mtime, text.stat().st_mtime
        nb_name, text_name = pair.ipynb.relative_to(root), text.relative_to(root)
        return (
            f"refused: both {nb_name} (modified {_when(t_nb)}) and {text_name} (modified "
            f"{_when(t_text)}) changed since the last sync and their code differs, so syncing "
            f"would overwrite one of them (a git checkout that rewrote only one file does "
            f"this).\n{_diff_summary(theirs, mine, str(nb_name), str(text_name))}\nKeep one "
            f"side, then sync again: to keep {text_name}, run `jupytext --to ipynb --update "
            f"{shlex.quote(str(text))}`; to keep {nb_name}, move {text_name} away and run "
            f"`trackrun init --sync`."
        )
    return None


def _changed(
    root: Path, path: Path, before: dict[Path, bytes | None], state: dict[str, str]
) -> bool:
    """True when ``path`` differs from the last sync (or, never synced, from git's HEAD)."""
    content = before[path]
    recorded = state.get(_key(root, path))
    if recorded is not None:
        return content is None or _digest(content) != recorded
    return _differs_from_head(path)


def _differs_from_head(path: Path) -> bool:
    """True when git's HEAD has ``path`` and the file differs from it; False without a baseline
    (no git, not a repository, not committed): then sync does what jupytext does, with a backup."""
    import subprocess

    def git(*args: str) -> int:
        try:
            return subprocess.run(
                ["git", *args], cwd=path.parent, capture_output=True, timeout=30
            ).returncode
        except (OSError, subprocess.TimeoutExpired):
            return -1

    if git("cat-file", "-e", f"HEAD:./{path.name}") != 0:
        return False
    return git("diff", "--quiet", "HEAD", "--", path.name) == 1


def _diff_summary(old: str, new: str, old_name: str, new_name: str, shown: int = 12) -> str:
    import difflib

    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, n=0))
    added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
    removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
    body = [d for d in diff[2:] if not d.startswith("@@")]
    more = f"\n  ... {len(body) - shown} more lines" if len(body) > shown else ""
    listing = "\n".join(f"  {line}" for line in body[:shown])
    return (
        f"Code differences ({old_name} -> {new_name}: +{added} -{removed} lines):\n{listing}{more}"
    )


def _key(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _read_state(path: Path) -> dict[str, str]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def _write_state(path: Path, state: dict[str, str]) -> None:
    if not state and not path.exists():
        return
    _make_store_dirs(path.parent.parent, path.parent)
    write_json_atomic(path, dict(sorted(state.items())))


def _make_store_dirs(root: Path, folder: Path) -> None:
    """Create ``folder`` and its missing parents below ``root`` (the project) with the
    store's modes: ``.trackrun/`` private (0700), as ``trackrun`` itself would make it, and
    each folder below it private, or group-shared where its parent is (a shared store)."""
    missing = []
    for part in (folder, *folder.parents):
        if part == root or part.is_dir():
            break
        missing.append(part)
    for part in reversed(missing):
        shared = part.parent != root and is_group_shared(part.parent)
        make_dir(part, private=not shared, exist_ok=True)


def notebooks(root: Path) -> list[Path]:
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
