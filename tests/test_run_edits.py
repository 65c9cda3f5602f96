"""Renaming a run and editing its note after the fact: the API, the events in the run's
folder, the index (also rebuilt by reindex), and the refusal of bad names and notes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import trackrun
from trackrun.errors import AmbiguousRunIdError, RunNotFoundError, TrackrunError
from trackrun.store import Store
from trackrun.values import InvalidTagError, InvalidTextError, check_note, check_run_name


def _run(name: str = "witty-glacier-96", note: str | None = None) -> str:
    with trackrun.start_run(name=name, note=note) as run:
        trackrun.log(loss=0.5, step=0)
    return run.run_id


def _row(run_id: str) -> dict[str, object]:
    """The run as the index knows it (name, note...)."""
    summary: dict[str, object] = trackrun.get_store().summary(run_id)
    return summary


def _api_events(store: Path, run_id: str) -> list[dict[str, object]]:
    path = store / "runs" / run_id / "events.api.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rename_and_note_reach_the_index_and_the_filter() -> None:
    run_id = _run(note="launched")
    other = _run(name="other")
    assert trackrun.rename(run_id[:-2], "lr too high") == run_id  # a unique prefix
    assert trackrun.set_note(run_id, "diverged at step 40\nthe one in Figure 3") == run_id
    row = _row(run_id)
    assert row["name"] == "lr too high"
    assert row["note"] == "diverged at step 40\nthe one in Figure 3"
    assert trackrun.runs('note ~ "Figure 3"')["run_id"] == [run_id]
    assert _row(other)["name"] == "other" and _row(other)["note"] is None
    # The new name resolves the run, as names do everywhere.
    assert trackrun.set_note("lr too high", "") == run_id
    assert _row(run_id)["note"] is None


def test_edits_are_events_in_the_run_folder_that_survive_reindex(isolated_store: Path) -> None:
    run_id = _run(note="at launch")
    trackrun.rename(run_id, "first")
    trackrun.rename(run_id, "  second  ")
    trackrun.set_note(run_id, "newest note")
    events = _api_events(isolated_store, run_id)
    assert [(e["type"], e.get("name", e.get("note"))) for e in events] == [
        ("rename", "first"),
        ("rename", "second"),
        ("note", "newest note"),
    ]
    for store in trackrun.api._stores.values():
        store.close()
    trackrun.api._stores.clear()
    os.unlink(isolated_store / "index.duckdb")
    store = Store(isolated_store, lease=0)
    assert store.reindex() == 1
    summary = store.summary(run_id)
    assert summary["name"] == "second" and summary["note"] == "newest note"
    # run.json keeps what the run was launched with: the edits are on top of it.
    record = json.loads((isolated_store / "runs" / run_id / "run.json").read_text())
    assert record["note"] == "at launch" and record["name"] == "witty-glacier-96"
    store.close()


def test_a_cleared_note_stays_cleared_after_reindex(isolated_store: Path) -> None:
    run_id = _run(note="at launch")
    trackrun.set_note(run_id, "")
    assert _row(run_id)["note"] is None
    store = Store(isolated_store, lease=0)
    store.reindex()
    assert store.summary(run_id)["note"] is None
    store.close()


def test_a_note_event_that_is_not_text_is_quarantined_not_applied(isolated_store: Path) -> None:
    from trackrun.events import append_event

    run_id = _run(note="kept")
    append_event(isolated_store / "runs" / run_id / "events.api.jsonl", "note", note=42)
    store = Store(isolated_store, lease=0)
    store.reindex()
    assert store.summary(run_id)["note"] == "kept"
    store.close()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("x" * 201, "at most 200 characters"),
        ("two\nlines", r"U\+000A"),
        ("bell\x07", r"U\+0007"),
        # A right-to-left override would show "run-exe.txt" as "run-txt.exe".
        ("run-\u202etxt.exe", r"text-direction control character U\+202E \(at character 5\)"),
        ("a\u2066b\u2069", r"U\+2066"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(
    name: str, problem: str, isolated_store: Path
) -> None:
    run_id = _run()
    with pytest.raises(InvalidTextError, match=problem):
        trackrun.rename(run_id, name)
    assert not (isolated_store / "runs" / run_id / "events.api.jsonl").exists()
    assert _row(run_id)["name"] == "witty-glacier-96"


def test_bad_notes_are_refused_and_nothing_is_written(isolated_store: Path) -> None:
    run_id = _run(note="kept")
    with pytest.raises(InvalidTextError, match="at most 10,000 characters"):
        trackrun.set_note(run_id, "x" * 10_001)
    with pytest.raises(InvalidTextError, match=r"U\+001B"):
        trackrun.set_note(run_id, "colour \x1b[31mred")
    with pytest.raises(InvalidTextError, match=r"U\+202B"):
        trackrun.set_note(run_id, "quote \u202bhere\u202c")
    with pytest.raises(InvalidTextError, match="must be a string"):
        trackrun.set_note(run_id, None)  # type: ignore[arg-type]
    assert not (isolated_store / "runs" / run_id / "events.api.jsonl").exists()
    assert _row(run_id)["note"] == "kept"


def test_validation_keeps_newlines_and_tabs_and_strips() -> None:
    assert check_run_name("  lr-3  ") == "lr-3"
    assert check_run_name("é" * 200) == "é" * 200
    assert check_note("  a\r\n\tb\rc  ") == "a\n\tb\nc"
    assert check_note("x" * 10_000) == "x" * 10_000
    # Right-to-left scripts, emoji joined by ZWJ and other format characters stay.
    assert check_run_name("تجربة-1") == "تجربة-1"
    assert check_note("team 👩\u200d🔬") == "team 👩\u200d🔬"
    # A TrackrunError (the CLI prints it) and a ValueError (the REST API answers 400).
    assert issubclass(InvalidTextError, TrackrunError) and issubclass(InvalidTextError, ValueError)


def test_unknown_and_ambiguous_runs_are_refused() -> None:
    _run(name="same")
    _run(name="same")
    with pytest.raises(RunNotFoundError):
        trackrun.rename("20000101-000000-abcdef", "x")
    with pytest.raises(AmbiguousRunIdError):
        trackrun.set_note("same", "which one?")


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        # An escape sequence in a tag would clear the terminal of whoever runs `trackrun ls`.
        ("clear\x1b[2J", r"control character U\+001B"),
        ("best\u202e", r"text-direction control character U\+202E"),
    ],
)
def test_tags_with_control_characters_are_refused_before_anything_is_written(
    tag: str, problem: str, isolated_store: Path
) -> None:
    with pytest.raises(InvalidTagError, match=problem):
        trackrun.start_run(tags=["ok", tag])
    assert not (isolated_store / "runs").exists() or not any((isolated_store / "runs").iterdir())
    with trackrun.start_run() as run:
        with pytest.raises(TypeError, match=problem):
            trackrun.tag(tag)
        trackrun.tag(" kept ")
    assert _row(run.run_id)["tags"] == ["kept"]
