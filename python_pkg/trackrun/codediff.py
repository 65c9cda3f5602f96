"""Diffs between two runs: their cell code, notebook text and installed package versions."""

from __future__ import annotations

import difflib
import html
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trackrun.layout import RunPaths
from trackrun.store.registry import get_store as open_store

if TYPE_CHECKING:
    from trackrun.store import Store


@dataclass(frozen=True)
class CodeDiff:
    """What changed in code and packages from run ``a`` to run ``b``; build it with ``diff()``.

    ``cell`` and ``notebook`` are unified diffs ("" when identical or not recorded; ``notes``
    says which), ``packages`` lists ``(name, version in a, version in b)`` for every package
    that differs (None where absent).
    """

    a: str
    b: str
    a_name: str
    b_name: str
    cell: str
    notebook: str
    packages: list[tuple[str, str | None, str | None]]
    notes: list[str]

    def _package_lines(self) -> list[str]:
        lines = []
        for name, old, new in self.packages:
            change = "added" if old is None else "removed" if new is None else "changed"
            versions = f"{old} -> {new}" if old and new else (old or new)
            lines.append(f"{change:8} {name} {versions}")
        return lines

    def to_text(self) -> str:
        """Plain-text rendering: header, notes, the unified diffs, then package changes."""
        parts = [f"diff {self.a} ({self.a_name}) -> {self.b} ({self.b_name})", *self.notes]
        parts += [text.rstrip("\n") for text in (self.cell, self.notebook) if text]
        if self.packages:
            parts += [f"packages ({len(self.packages)} differ):", *self._package_lines()]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        colors = {"+": "success", "-": "error", "@": "info"}
        lines = []
        for line in self.to_text().splitlines():
            color = None if line.startswith(("+++", "---")) else colors.get(line[:1])
            style = f' style="color: var(--jp-{color}-color1)"' if color else ""
            lines.append(f"<span{style}>{html.escape(line)}</span>")
        return f'<pre class="trackrun-diff">{chr(10).join(lines)}</pre>'


def diff(a: str, b: str, store: str | os.PathLike[str] | Store | None = None) -> CodeDiff:
    """Diff the recorded cell code, notebook text and package versions of runs ``a`` and ``b``.

    ``a`` and ``b`` are run ids, unique prefixes or names. Files missing from a run
    (``code/cell.py``, ``code/notebook.py``, packages in ``run.json``), or reached through a
    symlink (never followed), are diffed as empty and named in ``notes``. Raises RunNotFoundError / AmbiguousRunIdError for a run that
    does not resolve.
    """
    st = open_store(store)
    ids = (st.resolve(a), st.resolve(b))
    runs = [st.paths.run(run_id) for run_id in ids]
    records = [run.read_json_inside(run.run_json.name) for run in runs]
    names = [str(r.get("name") or run_id) for r, run_id in zip(records, ids, strict=True)]
    notes: list[str] = []
    texts: list[str] = []
    for what, file in (("cell code", "cell.py"), ("notebook", "notebook.py")):
        pair = [_read_text(run, file) for run in runs]
        labels = [
            f"{run_id} ({name}) {file}" if text is not None else f"{run_id}: no {what} recorded"
            for run_id, name, text in zip(ids, names, pair, strict=True)
        ]
        old, new = ((text or "").splitlines(keepends=True) for text in pair)
        lines = difflib.unified_diff(old, new, labels[0], labels[1])
        texts.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
        if pair == [None, None]:
            notes.append(f"{what}: not recorded for either run")
        elif not texts[-1]:
            notes.append(f"{what}: identical")
    if len([n for n in notes if n.endswith("either run")]) == 2:
        notes = ["no code recorded for either run"]
    versions = [(r.get("provenance") or {}).get("packages") for r in records]
    notes += [
        f"packages: not recorded for {run_id}"
        for run_id, found in zip(ids, versions, strict=True)
        if not isinstance(found, dict)
    ]
    old_pkgs, new_pkgs = (v if isinstance(v, dict) else {} for v in versions)
    packages = [
        (name, old_pkgs.get(name), new_pkgs.get(name))
        for name in sorted(old_pkgs.keys() | new_pkgs.keys(), key=str.lower)
        if old_pkgs.get(name) != new_pkgs.get(name)
    ]
    return CodeDiff(ids[0], ids[1], names[0], names[1], texts[0], texts[1], packages, notes)


def _read_text(run: RunPaths, file: str) -> str | None:
    """The text of ``code/<file>`` of ``run``; None when it is missing or has a symlink on
    the way (never followed: a diff is shown to others, e.g. over REST)."""
    try:
        with run.open_inside(run.code.name, file) as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return None
