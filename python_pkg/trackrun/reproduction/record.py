"""A run's record as reproduce needs it: run.json, its code files and which inputs failed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.errors import TrackrunError
from trackrun.layout import RunPaths
from trackrun.reproduction.slice import parse_history

if TYPE_CHECKING:
    from trackrun.store import Store

#: How the run's code was recorded: a %%track_run cell, a start_run cell, or a script.
KINDS = ("cell", "notebook", "script")


@dataclass
class Record:
    """What reproduce reads from a run directory.

    ``kind``: see KINDS. ``cell``: the tracked cell as typed (kinds cell and notebook);
    ``script``: the script's source (kind script). ``history``: the executed inputs
    ``(number, source)`` before the tracked one; ``failed``: numbers of inputs that raised;
    ``watched_from``: the first input whose outcome was recorded (None: none were).
    ``artifacts``: ``{name, size, sha256}`` of the files the run logged.
    """

    run_id: str
    paths: RunPaths
    info: dict[str, Any]
    kind: str
    cell: str | None = None
    script: str | None = None
    history: list[tuple[int, str]] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    watched_from: int | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.info.get("name") or self.run_id)

    @property
    def launch(self) -> dict[str, Any]:
        launch = self.info.get("launch")
        return launch if isinstance(launch, dict) else {}

    @property
    def provenance(self) -> dict[str, Any]:
        provenance = self.info.get("provenance")
        return provenance if isinstance(provenance, dict) else {}

    @property
    def cwd(self) -> Path | None:
        """The working directory the run's process had (a kernel: the notebook's folder)."""
        cwd = (self.provenance.get("process") or {}).get("cwd")
        return Path(cwd) if isinstance(cwd, str) and cwd else None


def load_record(store: Store, run: str) -> Record:
    """The record of ``run`` (id, unique prefix or name) in ``store``.

    Raises RunNotFoundError / AmbiguousRunIdError for a run that does not resolve, and
    TrackrunError naming what is missing when the run has no code to reproduce.
    """
    run_id = store.resolve(run)
    paths = store.paths.run(run_id)
    try:
        info = json.loads(paths.run_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TrackrunError(f"run {run_id}: cannot read {paths.run_json} ({error})") from None
    launch = info.get("launch") if isinstance(info.get("launch"), dict) else {}
    kind_of = {"inline": "cell", "detached": "cell", "notebook": "notebook", "script": "script"}
    kind = kind_of.get(str(launch.get("kind")))
    code = paths.code
    if kind is None:
        raise TrackrunError(
            f"run {run_id} has no recorded code to reproduce: it was not started by "
            "%%track_run, by start_run in a notebook or by a Python script (runs logged "
            "from `python -c` or by hand record none)"
        )
    record = Record(run_id, paths, info, kind)
    record.artifacts = [dict(a) for a in store.summary(run_id).get("artifacts") or []]
    if kind == "script":
        record.script = _read(code / "script.py")
        if record.script is None:
            raise TrackrunError(
                f"run {run_id} was started by a script but its source was not recorded "
                f"({code / 'script.py'} is missing; `python -c` and interactive sessions have "
                "no script file)"
            )
        return record
    record.cell = _read(code / "cell.py")
    history = _read(code / "history.py")
    if record.cell is None or history is None:
        missing = "code/cell.py" if record.cell is None else "code/history.py"
        raise TrackrunError(
            f"run {run_id} has no recorded history to reproduce ({missing} is missing in "
            f"{paths.root}); only runs recorded with their kernel's executed inputs can be "
            "sliced into a script"
        )
    outcomes = _outcomes(code / "history.json")
    current = outcomes.get("current")
    entries = parse_history(history)
    if isinstance(current, int) and current > 0:
        entries = [(n, s) for n, s in entries if n < current]
    elif entries:
        entries = entries[:-1]  # without history.json: the last input is the tracked cell
    record.history = entries
    record.failed = {int(n) for n in outcomes.get("failed") or [] if isinstance(n, int)}
    watched = outcomes.get("watched_from")
    record.watched_from = int(watched) if isinstance(watched, int) else None
    return record


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _outcomes(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
