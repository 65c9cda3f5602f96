"""Tests for trackrun.capture: redaction, git state, packages, hardware, process, provenance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from trackrun import capture
from trackrun.capture import (
    capture_git,
    capture_hardware,
    capture_packages,
    capture_process,
    capture_provenance,
    is_secret_name,
    redact_environ,
    scrub_environ_for_child,
)

SECRETS = {
    "MY_API_KEY": "k3y-value-1234567",
    "JUPYTER_TOKEN": "jupyter-token-abcdef",
    "AWS_SECRET_ACCESS_KEY": "aws/secret+access+key+value",
    "DB_PASSWORD": "hunter2-database",
    "GITHUB_TOKEN": "gh-secret-token-987654",
}
DB_URL_PASSWORD = "pw-in-url-5678"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path, *, commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgsign", "false")
    if commit:
        (path / "train.py").write_text("lr = 0.1\n")
        git(path, "add", "train.py")
        git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return make_repo(tmp_path / "repo")


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        *SECRETS,
        "jupyter_token",
        "JPY_API_TOKEN",
        "JUPYTERHUB_API_TOKEN",
        "JUPYTERHUB_COOKIE_SECRET",
        "JUPYTER_GATEWAY_HTTP_PWD",
        "CONFIGPROXY_AUTH_TOKEN",
        "HF_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


# JPY_SESSION_NAME is the notebook's path, not a credential: kept as provenance.
@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "PWD",
        "OLDPWD",
        "GIT_AUTHOR_NAME",
        "CUDA_VISIBLE_DEVICES",
        "JPY_SESSION_NAME",
    ],
)
def test_non_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_environ() -> None:
    env = {
        **SECRETS,
        "DATABASE_URL": f"postgres://u:{DB_URL_PASSWORD}@h/db",
        "MIRROR": "https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x.git",
        "COPY_OF_TOKEN": SECRETS["JUPYTER_TOKEN"],
        "HEADER": f"Authorization: Bearer {SECRETS['GITHUB_TOKEN']}",
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/me",
    }
    out = redact_environ(env)
    assert set(out) == set(env)
    for name in SECRETS:
        assert out[name] == "<redacted>"
    assert out["DATABASE_URL"] == "postgres://u:<redacted:DATABASE_URL>@h/db"
    assert out["MIRROR"] == "https://<redacted>@github.com/x.git"
    assert out["COPY_OF_TOKEN"] == "<redacted>"
    assert out["HEADER"] == "Authorization: Bearer <redacted:GITHUB_TOKEN>"
    assert out["PATH"] == "/usr/bin:/bin" and out["HOME"] == "/home/me"
    assert env["MY_API_KEY"] == SECRETS["MY_API_KEY"]  # input untouched


def test_well_known_token_formats_are_redacted_anywhere() -> None:
    hf = "hf_" + "A1" * 17
    out = redact_environ(
        {"NOTE": f"use {hf} here", "X": "AKIAABCDEFGHIJKLMNOP", "Y": "desk-" + "a" * 30}
    )
    assert out == {"NOTE": "use <redacted> here", "X": "<redacted>", "Y": "desk-" + "a" * 30}


def test_short_secret_values_only_redact_equal_values() -> None:
    out = redact_environ({"SOME_FLAG_TOKEN": "true", "PIN_KEY": "1234", "A": "1234", "B": "x1234"})
    assert out == {"SOME_FLAG_TOKEN": "<redacted>", "PIN_KEY": "<redacted>", "A": "<redacted:PIN_KEY>",
                   "B": "x1234"}  # fmt: skip


def test_scrub_environ_for_child() -> None:
    env = {**SECRETS, "PATH": "/usr/bin", "PWD": "/w", "CUDA_VISIBLE_DEVICES": "0"}
    assert scrub_environ_for_child(env) == {
        "PATH": "/usr/bin",
        "PWD": "/w",
        "CUDA_VISIBLE_DEVICES": "0",
    }


def test_provenance_never_contains_secrets(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"postgres://u:{DB_URL_PASSWORD}@h/db")
    monkeypatch.setattr(
        sys, "argv", ["train.py", "--api-key", "cli-secret-1", "--password=cli-secret-2"]
    )
    # A secret committed by mistake into a tracked file must not leak through the diff either.
    (repo / "train.py").write_text(f"lr = 0.2\ntoken = '{SECRETS['GITHUB_TOKEN']}'\n")
    text = json.dumps(capture_provenance(repo))
    for value in [*SECRETS.values(), DB_URL_PASSWORD, "cli-secret-1", "cli-secret-2"]:
        assert value not in text
    prov = json.loads(text)
    assert prov["env"]["DATABASE_URL"] == "postgres://u:<redacted:DATABASE_URL>@h/db"
    assert prov["process"]["argv"] == [
        "train.py",
        "--api-key",
        "<redacted>",
        "--password=<redacted>",
    ]
    assert "lr = 0.2" in prov["git"]["diff"]


# --- git -------------------------------------------------------------------------------------


def test_clean_repo(repo: Path) -> None:
    info = capture_git(repo)
    assert info is not None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert info["branch"] == "main"
    assert info["root"] == str(repo.resolve())
    assert info["dirty"] is False
    assert info["diff"] == "" and info["diff_bytes"] == 0 and info["diff_truncated"] is False


def test_subdirectory_finds_root(repo: Path) -> None:
    (repo / "sub").mkdir()
    info = capture_git(repo / "sub")
    assert info is not None and info["root"] == str(repo.resolve())


def test_modified_tracked_file_is_dirty(repo: Path) -> None:
    (repo / "train.py").write_text("lr = 0.2\n")
    (repo / "staged.py").write_text("staged = True\n")
    git(repo, "add", "staged.py")
    info = capture_git(repo)
    assert info is not None and info["dirty"] is True
    assert "-lr = 0.1\n+lr = 0.2" in info["diff"]
    assert "+staged = True" in info["diff"]  # staged changes count as well as unstaged ones
    assert info["diff_bytes"] == len(info["diff"].encode()) and not info["diff_truncated"]


def test_untracked_file_alone_is_not_dirty(repo: Path) -> None:
    # By design: untracked files (outputs, caches, data) are not part of the code state.
    (repo / "notes.txt").write_text("scratch\n")
    info = capture_git(repo)
    assert info is not None and info["dirty"] is False and info["diff"] == ""


def test_diff_truncated_at_line_boundary(repo: Path) -> None:
    (repo / "train.py").write_text("".join(f"line {i} {'x' * 40}\n" for i in range(1000)))
    full = capture_git(repo)
    cut = capture_git(repo, max_diff_bytes=1000)
    assert full is not None and cut is not None
    assert not full["diff_truncated"] and cut["diff_truncated"]
    assert cut["dirty"] is True
    assert cut["diff_bytes"] == full["diff_bytes"] > 1000
    assert 0 < len(cut["diff"].encode()) <= 1000
    assert cut["diff"].endswith("\n") and full["diff"].startswith(cut["diff"])


def test_detached_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    info = capture_git(repo)
    assert info is not None and info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


def test_repo_without_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = make_repo(tmp_path / "fresh", commit=False)
    info = capture_git(repo)
    assert info is not None
    assert info["commit"] is None and info["branch"] == "main" and info["dirty"] is False
    (repo / "a.py").write_text("a = 1\n")
    git(repo, "add", "a.py")
    info = capture_git(repo)
    assert info is not None and info["dirty"] is True and "+a = 1" in info["diff"]


def test_outside_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert capture_git(plain) is None
    assert capture_git(tmp_path / "missing") is None


def test_without_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert capture_git(repo) is None


# --- packages, hardware, process ------------------------------------------------------------


def test_packages() -> None:
    packages = capture_packages()
    assert packages["pytest"] == metadata.version("pytest")
    packages["pytest"] = "mutated"
    assert capture_packages()["pytest"] == metadata.version("pytest")


def test_hardware() -> None:
    hw = capture_hardware()
    assert hw["cpu_count"] == os.cpu_count()
    assert hw["python_executable"] == sys.executable
    assert hw["memory_bytes"] is None or hw["memory_bytes"] > 0
    json.dumps(hw)


def test_hardware_does_not_import_torch() -> None:
    code = (
        "import sys; from trackrun.capture import capture_hardware; hw = capture_hardware(); "
        "assert 'torch' not in sys.modules; print(hw['torch_version'], hw['cuda_devices'])"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(capture.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    try:
        expected = metadata.version("torch")
    except metadata.PackageNotFoundError:
        expected = "None"
    assert out.stdout.split() == [expected, "None"]


def fake_torch(initialized: bool) -> Any:
    calls: list[int] = []

    def props(i: int) -> Any:
        calls.append(i)
        return types.SimpleNamespace(name=f"GPU {i}", total_memory=80 * 2**30)

    cuda = types.SimpleNamespace(
        is_initialized=lambda: initialized,
        is_available=lambda: True,
        device_count=lambda: 2,
        get_device_properties=props,
    )
    return types.SimpleNamespace(__version__="9.9.9", cuda=cuda, calls=calls)


def test_cuda_devices_from_imported_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", fake_torch(initialized=True))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    hw = capture_hardware()
    assert hw["torch_version"] == "9.9.9" and hw["cuda_visible_devices"] == "0,1"
    assert hw["cuda_devices"] == [
        {"name": "GPU 0", "total_memory_bytes": 80 * 2**30},
        {"name": "GPU 1", "total_memory_bytes": 80 * 2**30},
    ]


def test_cuda_not_initialised_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = fake_torch(initialized=False)
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert capture_hardware()["cuda_devices"] is None
    assert torch.calls == []  # would have created a CUDA context


def test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["script.py", "--lr", "0.1"])
    proc = capture_process()
    assert proc["pid"] == os.getpid() and proc["cwd"] == os.getcwd()
    assert proc["argv"] == ["script.py", "--lr", "0.1"]
    assert proc["start_time_unix"] <= capture._PROCESS_IMPORTED_AT + 1
    assert proc["user"]


def test_process_user_without_passwd_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> str:
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr("getpass.getuser", fail)
    monkeypatch.setenv("USER", "someone")
    assert capture_process()["user"] == "someone"


def test_provenance_shape(repo: Path) -> None:
    prov = capture_provenance(repo, include_packages=False)
    assert set(prov) == {"git", "python", "hardware", "process", "packages", "env"}
    assert prov["packages"] is None and prov["git"]["root"] == str(repo.resolve())
    assert prov["python"]["executable"] == sys.executable
    json.dumps(prov)
