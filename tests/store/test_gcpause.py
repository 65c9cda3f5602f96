"""The collector pause around index refreshes: it always leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackrun.store import Store
from trackrun.store.gcpause import collector_paused


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_block_runs_paused_and_the_collector_comes_back(collector_enabled: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner block must not enable it early
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_in_the_block_still_enables_the_collector(collector_enabled: None) -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_the_user_disabled_stays_disabled(collector_enabled: None) -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_blocks_in_two_threads_leave_it_enabled(collector_enabled: None) -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with collector_paused():  # entered while the other thread holds it paused
        release.set()
        thread.join(10)
    assert gc.isenabled()


def test_a_store_query_leaves_the_collector_enabled(
    tmp_path: Path, collector_enabled: None
) -> None:
    store = Store(tmp_path / "store", lease=0)
    paused_during_refresh = []
    original = store._refresher.refresh

    def watching(con: object, plan: object) -> None:
        paused_during_refresh.append(not gc.isenabled())
        original(con, plan)  # type: ignore[arg-type]

    store._refresher.refresh = watching  # type: ignore[method-assign]
    assert len(store.runs()) == 0
    assert paused_during_refresh == [True]
    assert gc.isenabled()
    store.close()
