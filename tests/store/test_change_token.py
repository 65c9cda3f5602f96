"""Store.change_token: stats only for an unchanged store, a new token for every visible change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.store.test_store import (
    _finishes_within,
    _index_locked_elsewhere,
    _make_runs,
    _write_old_run,
)
from trackrun.events import append_event
from trackrun.store import Store


def _bump_changes(root: Path) -> None:
    # What the event writer does after every flush: one byte appended to changes.log.
    fd = os.open(root / "changes.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, b".")
    os.close(fd)


def test_an_unchanged_store_answers_without_the_index(isolated_store: Path) -> None:
    _make_runs(2)
    store = Store(isolated_store, lease=0)
    token = store.change_token()
    assert store.change_token() == token
    with _index_locked_elsewhere(isolated_store):
        done, again = _finishes_within(store.change_token, 10)
        assert done, "an unchanged store took the index lock"
        assert again == token
        _bump_changes(isolated_store)  # a flush with nothing new for this store to read
        done, again = _finishes_within(store.change_token, 10)
        assert done and again == token
    store.close()


def test_every_visible_change_gives_a_new_token(isolated_store: Path) -> None:
    first, second = _make_runs(2)
    store = Store(isolated_store, lease=0)
    seen = {store.change_token()}

    def changed() -> bool:
        token = store.change_token()
        new = token not in seen
        seen.add(token)
        return new

    _make_runs(1)  # a new run
    assert changed()
    append_event(isolated_store / "runs" / second / "events.jsonl", "tags", add=["late"])
    assert changed()
    assert not changed()
    shutil.rmtree(isolated_store / "runs" / first)  # a run removed by hand
    assert changed()


def test_another_process_writing_the_index_gives_a_new_token(isolated_store: Path) -> None:
    run_id = "20200101-000000-00bb00"
    _write_old_run(isolated_store, run_id, hours_ago=2)
    store = Store(isolated_store, lease=0)
    token = store.change_token()
    # Another process tags the quiet run and ingests what it wrote: only the index changed.
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from trackrun.events import append_event\n"
        "from trackrun.store import Store\n"
        "folder = Path(sys.argv[1]) / 'runs' / sys.argv[2]\n"
        "st = folder.stat()\n"
        "append_event(folder / 'events.jsonl', 'tags', add=['other'])\n"
        "os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))\n"
        "s = Store(sys.argv[1]); s.ingest([sys.argv[2]]); s.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(isolated_store), run_id],
        env={**os.environ, "TRACKRUN_HOME": str(isolated_store)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert store.change_token() != token
    assert store.summary(run_id)["tags"] == ["other"]


def test_a_quiet_run_that_changes_is_seen_through_changes_log(isolated_store: Path) -> None:
    run_id = "20200101-000000-00aa00"
    _write_old_run(isolated_store, run_id, hours_ago=2)
    store = Store(isolated_store, lease=0)
    token = store.change_token()
    assert store.summary(run_id)["tags"] == []
    # A late event in an ended, quiet run (not watched on every look) ...
    folder = isolated_store / "runs" / run_id
    stat = folder.stat()
    # (written by hand: append_event itself announces in changes.log, as writers must)
    with open(folder / "events.jsonl", "a") as events:
        events.write('{"seq": 99, "type": "tags", "time": 1577836800.5, "add": ["late"]}\n')
    os.utime(folder, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.change_token() == token  # not looked at yet: nothing says it changed
    _bump_changes(isolated_store)  # ... which its writer announces
    assert store.change_token() != token
    assert store.summary(run_id)["tags"] == ["late"]
