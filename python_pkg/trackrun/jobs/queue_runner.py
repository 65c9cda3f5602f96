"""The store queue runner: drains a store's queue when no Jupyter server does.

A detached run is queued as ``<store>/queue/<run_id>``; whoever queues it then calls
:func:`ensure_drainer`. When no drainer holds the store's lock (no live server, no runner),
that starts ``python -m trackrun.jobs.queue_runner STORE`` in its own session: a
:class:`~trackrun.jobs.drainer.Drainer` that starts queued runs within the store-wide
``max_parallel`` and each sweep's ``--parallel``, and exits once the queue is empty and the
runs it started have ended. A runner that dies (even SIGKILL) releases the lock; the next
launch or ``trackrun queue run`` starts another, which adopts the runs still running.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from trackrun.ids import is_run_id
from trackrun.jobs import slots
from trackrun.jobs.drainer import Drainer
from trackrun.jobs.environment import without_jupyter_credentials
from trackrun.jobs.queue import ACCEPTED, HANDOVER_WAIT, queue_dir
from trackrun.jobs.spawn import keep
from trackrun.layout import StorePaths, open_private

#: Seconds between two rounds of the runner.
TICK = 0.2


def enqueue(store_root: Path, run_id: str) -> None:
    """Put run ``run_id`` (its job written) in the store's queue for the live drainer."""
    folder = queue_dir(store_root)
    folder.mkdir(exist_ok=True, mode=0o700)
    (folder / run_id).touch()


def ensure_drainer(store: StorePaths, run_ids: Sequence[str] = ()) -> bool:
    """Make sure someone drains ``store``'s queue; True when a runner was started for it.

    Call it after queueing ``run_ids``. While a drainer holds the store's lock (a live
    Jupyter server or a runner), this waits up to HANDOVER_WAIT seconds for it to accept
    them, and starts a runner if the lock comes free meanwhile (the drainer died). A runner
    about to exit looks at the queue again after letting go of the lock, so an entry
    queued before this call is never stranded.
    """
    folder = queue_dir(store.root)
    deadline = time.monotonic() + HANDOVER_WAIT
    while True:
        if not slots.lock_is_held(store.root):
            spawn_runner(store)
            return True
        if not any((folder / run_id).exists() for run_id in run_ids):
            return False  # accepted (a drainer starts accepted runs on the tick it takes them)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def spawn_runner(store: StorePaths) -> subprocess.Popen[bytes]:
    """Start a detached queue runner for ``store`` (its output goes to ``queue-runner.log``).

    It keeps the launching process's secrets in its environment (never in a file): the
    jobs it starts get them from there, as jobs the kernel starts itself do. Jupyter's own
    credentials are left out.
    """
    store.ensure()
    with open_private(store.root / "queue-runner.log") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trackrun.jobs.queue_runner", str(store.root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=without_jupyter_credentials(os.environ),
            cwd=str(store.root),
        )
    return keep(process)


def run_queue(store: StorePaths, max_parallel: int | None = None, tick: float = TICK) -> bool:
    """Drain ``store``'s queue in this process until it is empty and the runs it started ended.

    ``max_parallel`` defaults to the store-wide limit (``slots.store_max_parallel``); runs
    launched with ``--gpu auto`` get the visible GPUs one each, as under a server.
    Returns False at once, starting nothing, when another drainer (a live server or runner)
    holds the store's lock. Interrupting it (Ctrl-C) leaves started runs running.
    """
    gpus = slots.visible_gpus()
    limit = max_parallel or slots.store_max_parallel(store.root)
    drainer = Drainer(store, limit, gpus, backend_name="local")
    if not drainer.start():
        return False
    try:
        while True:
            drainer.tick()
            if drainer.pending() or drainer.running():
                time.sleep(tick)
                continue
            # Let go, then look once more: a launcher queues first and checks the lock
            # second, so whatever it queued before we let go is seen here.
            drainer.stop()
            if not drainer.pending() or not drainer.start():
                return True
    finally:
        drainer.stop()


def queued(store: StorePaths) -> list[str]:
    """Ids of the runs waiting in ``store``'s queue, oldest first."""
    try:
        names = {path.name.removesuffix(ACCEPTED) for path in queue_dir(store.root).iterdir()}
    except FileNotFoundError:
        return []
    return sorted(name for name in names if is_run_id(name))


def main() -> None:
    """``python -m trackrun.jobs.queue_runner STORE``: drain the store, then exit."""
    if len(sys.argv) != 2:
        sys.exit("usage: python -m trackrun.jobs.queue_runner STORE")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    store = StorePaths(Path(sys.argv[1]))
    started = run_queue(store)
    print(
        f"trackrun queue runner {'drained' if started else 'found another drainer for'} {store.root}"
    )


if __name__ == "__main__":
    main()
