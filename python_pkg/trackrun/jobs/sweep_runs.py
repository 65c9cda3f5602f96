"""A sweep in the store: its record (``<store>/sweeps/<id>.json``), its runs made from ONE frozen
job, and finding it again by id or name.

Each point is a queued detached run: the first is written from the frozen cell, the others
are ``clone``s of it with the swept names overridden. Every run of a sweep carries
``launch.sweep = {id, name, index}`` in its run.json and the tags ``sweep:<name>`` and
``sweep:<id>``, which is what the filter ``sweep:NAME`` / ``sweep = ID`` matches.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackrun.errors import RunStateError, TrackrunError
from trackrun.ids import new_run_id, new_run_name
from trackrun.jobs.freeze import clone
from trackrun.layout import RunPaths, StorePaths, write_json_atomic

if TYPE_CHECKING:
    from trackrun.store import Store

SWEEP_ID_PATTERN = re.compile(r"^sw-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
#: Tag prefix of a sweep's runs (``sweep:<name>`` and ``sweep:<id>``).
TAG_PREFIX = "sweep:"


@dataclass
class SweepRecord:
    """What a sweep is: its definition, how it was launched, and its runs in point order."""

    sweep_id: str
    name: str
    text: str
    samples: int | None = None
    seed: int | None = None
    parallel: int | None = None
    metric: str | None = None
    goal: str = "max"
    backend: str = "local"
    created_at: float = field(default_factory=time.time)
    run_ids: list[str] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [TAG_PREFIX + self.name, TAG_PREFIX + self.sweep_id]

    def launch_entry(self, index: int) -> dict[str, Any]:
        """The ``launch.sweep`` entry of the run of point ``index``."""
        return {"id": self.sweep_id, "name": self.name, "index": index}

    def save(self, store: StorePaths) -> None:
        """Write the record (atomically, private) into ``<store>/sweeps/``."""
        folder = sweeps_dir(store)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_json_atomic(folder / f"{self.sweep_id}.json", asdict(self))

    @classmethod
    def load(cls, path: Path) -> SweepRecord:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def sweeps_dir(store: StorePaths) -> Path:
    """Folder of the store's sweep records."""
    return store.root / "sweeps"


def new_sweep(store: StorePaths, name: str | None, **fields: Any) -> SweepRecord:
    """A new sweep record (not saved yet) with a fresh id and a name unique in the store.

    A name already used by another sweep gets a numeric suffix (``grid`` -> ``grid-2``), so
    ``sweep:NAME`` always means one sweep. Raises TrackrunError for a name that would be
    read as a sweep id or that has spaces or quotes.
    """
    if name is not None and (SWEEP_ID_PATTERN.match(name) or not re.fullmatch(r"[\w.\-]+", name)):
        raise TrackrunError(
            f"cannot name a sweep {name!r}: use letters, digits, '_', '-' and '.' "
            "(and not the form of a sweep id)"
        )
    taken = {record.name for record in list_sweeps(store)}
    base = name or new_run_name()
    unique, k = base, 2
    while unique in taken:
        unique, k = f"{base}-{k}", k + 1
    return SweepRecord(sweep_id=f"sw-{new_run_id()}", name=unique, **fields)


def list_sweeps(store: StorePaths) -> list[SweepRecord]:
    """Every sweep of the store, oldest first (unreadable records are skipped)."""
    try:
        paths = sorted(sweeps_dir(store).glob("sw-*.json"))
    except OSError:
        return []
    records = []
    for path in paths:
        try:
            records.append(SweepRecord.load(path))
        except (OSError, ValueError, TypeError):
            continue
    return records


def find_sweep(store: StorePaths, text: str) -> SweepRecord | None:
    """The sweep whose id or name is ``text`` (with or without ``sweep:``), or None."""
    key = text.removeprefix(TAG_PREFIX).strip()
    if SWEEP_ID_PATTERN.match(key):
        path = sweeps_dir(store) / f"{key}.json"
        return SweepRecord.load(path) if path.is_file() else None
    matches = [r for r in list_sweeps(store) if r.name == key]
    return matches[-1] if matches else None


def create_points(
    store: StorePaths,
    first: RunPaths,
    record: SweepRecord,
    points: Sequence[Mapping[str, Any]],
    name_of: Any = None,
) -> list[RunPaths]:
    """Make the runs of points 2..n as clones of ``first`` (point 1, its job written).

    Every run gets the sweep's launch entry; ``name_of(index)`` names run ``index`` (default
    ``<sweep name>-<k>``). Returns all the runs, ``first`` included, in point order; the
    record's ``run_ids`` and ``points`` are filled in. Raises what ``clone`` raises.
    """
    width = len(str(len(points)))
    runs = [first]
    for index, point in enumerate(points[1:], start=1):
        run_name = name_of(index) if name_of else f"{record.name}-{index + 1:0{width}d}"
        runs.append(
            clone(
                store,
                first.run_id,
                point,
                name=run_name,
                # Points are siblings, not reruns of the first point.
                launch={"rerun_of": None, "sweep": record.launch_entry(index)},
            )
        )
    record.run_ids = [run.run_id for run in runs]
    record.points = [dict(point) for point in points]
    return runs


def set_job_fields(run: RunPaths, fields: Mapping[str, Any]) -> None:
    """Add ``fields`` to the run's job spec (overrides, sweep id, the sweep's parallel limit)."""
    path = run.job / "spec.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec.update(fields)
    write_json_atomic(path, spec)


def kill_sweep(store: Store, record: SweepRecord) -> dict[str, list[str]]:
    """Stop a whole sweep: cancel its queued runs first (so no freed slot starts one), then
    kill its running ones. Returns ``{"cancelled": [...], "killed": [...]}`` (run ids)."""
    from trackrun.jobs.kill import kill

    statuses = store.runs(f"sweep = {record.sweep_id}")
    status_of = dict(zip(statuses["run_id"], statuses["status"], strict=True))
    done: dict[str, list[str]] = {"cancelled": [], "killed": []}
    for wanted, key in (("queued", "cancelled"), ("running", "killed")):
        for run_id in record.run_ids:
            if status_of.get(run_id) != wanted:
                continue
            try:
                kill(store, run_id)
            except RunStateError:
                continue  # it ended meanwhile
            done[key].append(run_id)
    return done
