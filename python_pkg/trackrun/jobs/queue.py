"""A store's queue of detached runs: queue entries, the live drainer's registration, claims.

Queued runs wait as empty files ``<store>/queue/<run_id>``. One *drainer* at a time starts
them within its slots: today the Jupyter server's launch service, which registers itself in
``<store>/drainer.json`` with a heartbeat. Whoever starts a run first *claims* it
(``job/claim``, created exclusively), so a run is never started twice.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from trackrun import liveness

#: Seconds after which a drainer that stopped writing its heartbeat counts as gone.
DRAINER_STALE_AFTER = 10.0
#: Seconds a submitter waits for a live drainer to accept a queued run before starting it itself.
HANDOVER_WAIT = 3.0
#: Suffix of a queue entry the drainer has accepted (it will start the run when a slot frees).
ACCEPTED = ".accepted"


def drainer_file(store_root: Path) -> Path:
    """Where the live drainer (the server extension) registers itself in a store."""
    return store_root / "drainer.json"


def queue_dir(store_root: Path) -> Path:
    """Folder of queued run ids waiting for a drainer (one empty file each)."""
    return store_root / "queue"


def live_drainer(store_root: Path) -> dict[str, object] | None:
    """The registration of a live drainer for this store, or None.

    Alive means: the registered process runs on this host with the same start token and
    its heartbeat is fresh.
    """
    try:
        info = json.loads(drainer_file(store_root).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("host") != liveness.hostname():
        return None
    if time.time() - float(info.get("heartbeat_at") or 0) > DRAINER_STALE_AFTER:
        return None
    if not liveness.is_alive(int(info.get("pid") or 0), info.get("proc_start")):
        return None
    return dict(info)


def claim(run_dir: Path) -> bool:
    """Atomically claim the right to start a queued run; False if someone else has it."""
    try:
        fd = os.open(run_dir / "job" / "claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def is_claimed(run_dir: Path) -> bool:
    """True once someone has claimed (started, or cancelled) the queued run."""
    return (run_dir / "job" / "claim").exists()


def hand_over(store_root: Path, run_id: str, wait: float = HANDOVER_WAIT) -> bool:
    """Offer run ``run_id`` to the store's live drainer; True when it accepted the run.

    The drainer accepts an entry by renaming ``queue/<id>`` to ``queue/<id>.accepted``;
    withdrawing is unlinking ``queue/<id>``: exactly one of the two can succeed, so on
    False the caller may start the run itself.
    """
    if live_drainer(store_root) is None:
        return False
    folder = queue_dir(store_root)
    folder.mkdir(exist_ok=True, mode=0o700)
    entry = folder / run_id
    entry.touch()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and entry.exists():
        time.sleep(0.02)
    try:
        entry.unlink()
    except FileNotFoundError:
        return True
    return False  # the drainer did not answer in time (busy or dying)


def withdraw(store_root: Path, run_id: str) -> None:
    """Remove run ``run_id``'s queue entries (pending or accepted), if any."""
    folder = queue_dir(store_root)
    for name in (run_id, run_id + ACCEPTED):
        (folder / name).unlink(missing_ok=True)
