"""Signed pickles: the store key, signatures, and refusals of foreign or changed pickles."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trackrun.layout import RunPaths
from trackrun.signing import UntrustedPickleError, read_verified, store_key, write_signed


class _CreatesFile:
    """Unpickling this creates a file: what a malicious pickle could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_key_is_private_and_stable(tmp_path: Path) -> None:
    key = store_key(tmp_path / "store")
    path = tmp_path / "store" / "key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store_key(tmp_path / "store") == key
    assert store_key(tmp_path / "other") != key


def test_signed_file_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "out.pkl"
    write_signed(target, b"payload", tmp_path / "store")
    assert read_verified(target, tmp_path / "store", "outputs") == b"payload"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_changed_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    store = tmp_path / "store"
    target = tmp_path / "outputs.pkl"
    write_signed(target, pickle.dumps({"x": 1}), store)
    marker = tmp_path / "pwned"
    target.write_bytes(pickle.dumps(_CreatesFile(marker)))
    with pytest.raises(UntrustedPickleError, match="changed after this store wrote them"):
        pickle.loads(read_verified(target, store, "outputs"))
    assert not marker.exists()


def test_pickle_of_another_store_is_refused_unless_trusted(tmp_path: Path) -> None:
    target = tmp_path / "outputs.pkl"
    write_signed(target, pickle.dumps({"x": 1}), tmp_path / "a")
    with pytest.raises(UntrustedPickleError, match="written by another store"):
        read_verified(target, tmp_path / "b", "outputs")
    assert pickle.loads(read_verified(target, tmp_path / "b", "outputs", trust=True)) == {"x": 1}


def test_unsigned_pickle_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "inputs.pkl"
    target.write_bytes(pickle.dumps(1))
    with pytest.raises(UntrustedPickleError, match="no valid signature"):
        read_verified(target, tmp_path / "store", "inputs")
    os.unlink(target)
    with pytest.raises(FileNotFoundError):
        read_verified(target, tmp_path / "store", "inputs")


def test_checkpoints_are_signed_and_a_changed_one_is_refused(tmp_path: Path) -> None:
    from trackrun.run import Run

    run = Run.start(tmp_path / "store", name="ck")
    try:
        path = run.checkpoint({"w": [1, 2]}, step=3)
        loaded = run.latest_checkpoint()
        assert loaded is not None and loaded.state == {"w": [1, 2]} and loaded.step == 3
        marker = tmp_path / "pwned"
        path.write_bytes(pickle.dumps(_CreatesFile(marker)))
        with pytest.raises(UntrustedPickleError, match="checkpoint"):
            run.latest_checkpoint()
        assert not marker.exists()
    finally:
        run.finish()


def test_job_refuses_changed_inputs_and_never_unpickles_them(
    tmp_path: Path, make_job: Callable[..., RunPaths], store_root: Path
) -> None:
    """A job whose inputs.pkl was replaced fails before running anything."""
    import subprocess
    import sys

    paths = make_job("print('ran')")
    marker = tmp_path / "pwned"
    (paths.job / "inputs.pkl").write_bytes(pickle.dumps(_CreatesFile(marker)))
    result = subprocess.run(
        [sys.executable, "-c", "from trackrun.jobs.runner import main; main()", str(paths.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "changed after this store wrote them" in (paths.job / "error.txt").read_text()
    assert not marker.exists() and "ran" not in result.stdout


MEMBER_UID, TEAM_GID = 64123, 64124  # another user of the store's group, made up for the test
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")


def as_team_member(action: Callable[[], object]) -> str:
    """Run ``action`` in a forked child as another user (MEMBER_UID, in group TEAM_GID);
    return ``ok: <repr of its result>`` or ``<ExceptionType>: <message>``."""
    import select

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the other user, act, report, and leave at once
        try:
            os.close(read_end)
            os.setgroups([TEAM_GID])
            os.setgid(TEAM_GID)
            os.setuid(MEMBER_UID)
            try:
                outcome = f"ok: {action()!r}"
            except BaseException as error:  # reported to the parent
                outcome = f"{type(error).__name__}: {error}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    try:
        while select.select([read_end], [], [], 60)[0]:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.fixture
def team_store() -> Iterator[Path]:
    """A store folder shared with a group as docs/guide.md says (chgrp team, chmod 2770),
    in a folder other users can reach (pytest's tmp_path is private to its user)."""
    base = Path(tempfile.mkdtemp(prefix="trackrun-team-"))
    try:
        base.chmod(0o755)
        store = base / "store"
        store.mkdir()
        if os.geteuid() == 0:
            os.chown(store, -1, TEAM_GID)
        store.chmod(0o2770)
        yield store
    finally:
        shutil.rmtree(base)


def sign_and_load_a_checkpoint(store: Path) -> object:
    """What an inline ``trackrun.checkpoint`` and ``trackrun.resume`` do with the key."""
    from trackrun.run import Run

    run = Run.start(store, name="member")
    try:
        run.checkpoint({"w": 1}, step=1)
        loaded = run.latest_checkpoint()
        return None if loaded is None else loaded.state
    finally:
        run.finish()


def test_key_of_a_group_shared_store_is_readable_by_the_group(team_store: Path) -> None:
    store_key(team_store)
    assert stat.S_IMODE((team_store / "key").stat().st_mode) == 0o640
    if os.geteuid() == 0:  # another member signs and loads with it, and may detach
        from trackrun import jobs

        assert as_team_member(lambda: sign_and_load_a_checkpoint(team_store)) == "ok: {'w': 1}"
        assert as_team_member(lambda: jobs.check_backend(team_store, "local", {})) == "ok: None"


def test_own_key_becomes_group_readable_once_the_store_is_shared(tmp_path: Path) -> None:
    store = tmp_path / "store"
    key = store_key(store)
    assert stat.S_IMODE((store / "key").stat().st_mode) == 0o600
    store.chmod(0o2770)
    assert store_key(store) == key
    assert stat.S_IMODE((store / "key").stat().st_mode) == 0o640


@as_root
def test_a_key_the_user_cannot_read_is_a_clear_error(team_store: Path) -> None:
    """A key its owner made before sharing the store (0600): another member gets an error
    naming the file and the fix, from --detach's check (before any run is recorded) and
    from an inline checkpoint, instead of a PermissionError traceback."""
    from trackrun import jobs

    team_store.chmod(0o700)
    store_key(team_store)  # made while the store was private
    team_store.chmod(0o2770)
    key = team_store / "key"
    expected = (
        f"StoreKeyError: cannot read this store's key {key} (Permission denied): it signs the "
        "pickles of detached runs and checkpoints, so neither can be made or loaded. The "
        "store is shared with a group, but the key is readable by its owner (root) only "
        f"(mode 0600). Its owner, or an administrator, can fix it for everyone with: chmod "
        f"g+r {key}"
    )
    detach = as_team_member(lambda: jobs.check_backend(team_store, "local", {}))
    assert detach.startswith(expected), detach
    assert not (team_store / "runs").exists()  # nothing was recorded
    checkpoint = as_team_member(lambda: sign_and_load_a_checkpoint(team_store))
    assert checkpoint.startswith(expected), checkpoint


def test_a_checkpoint_is_loaded_from_the_bytes_that_were_verified(tmp_path: Path) -> None:
    """The checkpoint file is read once. Here it is a FIFO that serves the signed bytes to
    its first reader and a pickle that would create a file to a second one: a loader that
    reopened the file after checking it (time of check, time of use) would run that."""
    import io
    import threading
    import time

    import torch

    from trackrun.run import Run

    run = Run.start(tmp_path / "store", name="ck")
    try:
        path = run.checkpoint({"w": [1, 2]}, step=3)
        signed = path.read_bytes()
        marker = tmp_path / "pwned"
        evil = io.BytesIO()
        torch.save(_CreatesFile(marker), evil)
        path.unlink()
        os.mkfifo(path)

        def serve() -> None:
            with open(path, "wb") as fifo:  # blocks until the loader opens it
                fifo.write(signed)
            # Let the first reader see the end of the file and close it: a writer opening
            # before that would append to what it reads.
            time.sleep(0.5)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:  # a second reader gets the evil pickle
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # no reader (yet)
                    time.sleep(0.01)
                    continue
                with os.fdopen(fd, "wb") as fifo:
                    fifo.write(evil.getvalue())
                return

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        loaded = run.latest_checkpoint()
        server.join()
        assert loaded is not None and loaded.state == {"w": [1, 2]} and loaded.step == 3
        assert not marker.exists()
    finally:
        run.finish()
