"""The reproduction folder: reproduce.py, requirements.txt, git.patch, README.md, inputs.md."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from trackrun.errors import TrackrunError
from trackrun.reproduction.externals import Externals, find_externals, inputs_markdown
from trackrun.reproduction.record import Record
from trackrun.reproduction.script import Script, build_script


@dataclass
class Folder:
    """What was written: the folder, its script and the outside inputs found."""

    path: Path
    script: Script
    externals: Externals

    @property
    def script_path(self) -> Path:
        return self.path / "reproduce.py"


def plan_folder(record: Record) -> tuple[Script, Externals, dict[str, str]]:
    """Every file of the folder as text, without writing anything."""
    script = build_script(record)
    codes = [(f"In[{i.number}]", i.code) for i in (script.slice.kept if script.slice else [])]
    codes.append(("the tracked code", script.target.code))
    codes.append(("the params", "\n".join(f"{k} = {v!r}" for k, v in script.params.items())))
    dropped = list(script.target.dropped)
    for item in script.slice.kept if script.slice else []:
        dropped += item.translated.dropped
    unresolved = script.slice.unresolved if script.slice else set()
    externals = find_externals(record, codes, dropped, unresolved, set(script.params))
    files = {
        "reproduce.py": script.text,
        "requirements.txt": _requirements(record),
        "README.md": _readme(record),
        "inputs.md": inputs_markdown(record, externals, script.params, script.secrets),
    }
    git = record.provenance.get("git") or {}
    if git.get("dirty") and git.get("diff"):
        files["git.patch"] = str(git["diff"])
    return script, externals, files


def write_folder(record: Record, out: Path, force: bool = False) -> Folder:
    """Write the folder for ``record`` at ``out`` and return it.

    Raises TrackrunError, writing nothing, when ``out`` exists and is not an empty folder
    (unless ``force``: files of the same names are then replaced) or when the run's code
    cannot be turned into a script.
    """
    if out.exists() and not out.is_dir():
        raise TrackrunError(f"{out} exists and is not a folder; choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise TrackrunError(
            f"{out} is not empty; choose an empty or new folder, or pass --force "
            "(force=True) to overwrite the reproduction files in it"
        )
    script, externals, files = plan_folder(record)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    if "git.patch" not in files:
        (out / "git.patch").unlink(missing_ok=True)
    return Folder(out, script, externals)


def _requirements(record: Record) -> str:
    packages = record.provenance.get("packages") or {}
    lines = [
        f"# Packages installed when run {record.run_id} was recorded (pip freeze style).",
        "# Packages installed from a local folder (e.g. trackrun itself in development) may",
        "# not be on PyPI: install those from their source.",
    ]
    for name in sorted(packages, key=str.lower):
        lines.append(f"{name}=={packages[name]}")
    return "\n".join(lines) + "\n"


def _readme(record: Record) -> str:
    info, git = record.info, record.provenance.get("git") or {}
    python = record.provenance.get("python") or {}
    lines = [
        f"# Reproducing run {record.name} ({record.run_id})",
        "",
        f"- recorded from: {info.get('notebook') or record.launch.get('script') or 'unknown'}",
        f"- Python {python.get('version', '?')}; packages in requirements.txt",
        f"- working directory: {record.cwd or 'unknown'}",
        "",
        "## Code version",
        "",
    ]
    if not git:
        lines.append("No git state was recorded (the run did not start inside a git repository).")
    else:
        commit = git.get("commit") or "(no commit yet)"
        lines += [
            f"Commit `{commit}` on branch `{git.get('branch') or '(detached)'}` of the "
            f"repository at `{git.get('root')}`.",
            "",
            "```sh",
            f"cd {shlex.quote(str(git.get('root') or '.'))}",
            f"git checkout {commit}",
        ]
        if git.get("dirty"):
            lines.append("git apply /path/to/this/folder/git.patch   # the uncommitted changes")
        lines.append("```")
        if git.get("dirty"):
            lines += [
                "",
                "The work tree had uncommitted changes: git.patch holds them (staged and "
                "unstaged changes of tracked files; untracked files are not in it).",
            ]
            if git.get("diff_truncated"):
                lines.append(
                    f"**The diff was cut** at recording time ({git.get('diff_bytes')} bytes in "
                    "full): git.patch is incomplete and may not apply."
                )
        else:
            lines.append("\nThe work tree was clean: no patch is needed.")
    lines += [
        "",
        "## Run",
        "",
        "```sh",
        "pip install -r requirements.txt",
        f"cd {shlex.quote(str(record.cwd or '.'))}",
        "python /path/to/this/folder/reproduce.py",
        "```",
        "",
        "The new run is linked to the original (`reproduces` in its run.json). "
        f"`trackrun reproduce {record.run_id} --run` does all of this and compares the two.",
        "See inputs.md for what the script cannot rebuild from code.",
    ]
    return "\n".join(lines) + "\n"
