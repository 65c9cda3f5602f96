"""Provenance capture for a run: git state, Python, hardware, process, packages, redacted env.

Redaction itself lives in :mod:`trackrun.redaction`; its entry points are re-exported here.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from trackrun.redaction import (
    REDACTED,
    current_secrets,
    is_secret_name,
    is_secret_param_name,
    redact_argv,
    redact_environ,
    redact_params,
    redact_text,
    redact_tree,
    redact_tree_with,
    scrub_environ_for_child,
    secret_values,
)

__all__ = [
    "REDACTED",
    "capture_git",
    "capture_hardware",
    "capture_packages",
    "capture_process",
    "capture_provenance",
    "is_secret_name",
    "is_secret_param_name",
    "notebook_as_percent_script",
    "redact_environ",
    "redact_params",
    "redact_text",
    "redact_tree",
    "scrub_environ_for_child",
    "secret_values",
]

_GIT_TIMEOUT_S = 10.0
_SHA1_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_PROCESS_IMPORTED_AT = time.time()


def _git(args: list[str], cwd: Path, keep: int = 1 << 16) -> tuple[int, bytes, int]:
    """Run git; return (exit status, first ``keep`` bytes of stdout, total stdout bytes).

    Streams stdout so a huge diff is counted but not held in memory. On timeout the whole
    process group is killed (a plain kill could leave a child holding the pipe open).
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=os.name == "posix",
    )
    timer = threading.Timer(_GIT_TIMEOUT_S, _kill, (proc,))
    timer.start()
    head = bytearray()
    total = 0
    try:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 16):
            total += len(chunk)
            if len(head) < keep:
                head += chunk[: keep - len(head)]
        status = proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()  # type: ignore[union-attr]
    return status, bytes(head), total


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # it may have just exited
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()


def capture_git(cwd: Path, max_diff_bytes: int = 1_000_000) -> dict[str, Any] | None:
    """Return the git state of the work tree containing ``cwd``, or None (no repo, no git).

    Keys: commit (None before the first commit), branch (None on a detached HEAD), dirty
    (tracked files differ from HEAD; untracked files do not count), diff (staged + unstaged
    changes of tracked files against HEAD, cut at a line boundary to ``max_diff_bytes``),
    diff_truncated, diff_bytes (size of the full diff) and root (the work tree path).
    """
    try:
        status, out, _ = _git(
            ["rev-parse", "--show-toplevel", "HEAD", "--symbolic-full-name", "HEAD", "--"], cwd
        )
        lines = out.decode("utf-8", "replace").splitlines()
        if not lines or not lines[0].strip():
            return None
        root = lines[0]
        if status == 0 and len(lines) >= 3:
            commit: str | None = lines[1]
            ref = lines[2]
            base = "HEAD"
        else:  # No commit yet: diff against the empty tree (hash depends on the object format).
            commit = None
            ref = _git(["symbolic-ref", "-q", "HEAD"], cwd)[1].decode().strip()
            empty_tree = _git(["hash-object", "-t", "tree", os.devnull], cwd)[1].decode().strip()
            base = empty_tree or _SHA1_EMPTY_TREE
        keep = max(max_diff_bytes, 0)
        diff_status, diff, total = _git(
            ["diff", "--no-color", "--no-ext-diff", "--no-textconv", base, "--"], cwd, keep
        )
    except (OSError, ValueError):
        return None
    result: dict[str, Any] = {
        "commit": commit,
        "branch": ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
        "root": root,
    }
    if diff_status != 0:
        return {**result, "dirty": None, "diff": "", "diff_truncated": False, "diff_bytes": 0}
    truncated = total > keep
    if truncated:
        diff = diff[: diff.rfind(b"\n") + 1]
    return {
        **result,
        "dirty": total > 0,
        "diff": diff.decode("utf-8", "replace"),
        "diff_truncated": truncated,
        "diff_bytes": total,
    }


_packages_cache: tuple[tuple[tuple[str, int], ...], dict[str, str]] | None = None


def capture_packages() -> dict[str, str]:
    """Return the installed distributions as {name: version} (first on sys.path wins).

    Cached per process; the cache is refreshed when a sys.path directory changes, so a
    ``pip install`` in a running notebook shows up.
    """
    global _packages_cache
    stamp = tuple((p, _mtime_ns(p)) for p in sys.path)
    if _packages_cache is None or _packages_cache[0] != stamp:
        packages: dict[str, str] = {}
        for dist in metadata.distributions():
            name = dist.metadata["Name"]
            if name and name not in packages:
                packages[name] = dist.version
        _packages_cache = (stamp, packages)
    return dict(_packages_cache[1])


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return -1


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _python_info() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "virtualenv": sys.prefix != sys.base_prefix,
    }


@functools.lru_cache(maxsize=1)
def _static_hardware() -> tuple[tuple[str, Any], ...]:
    try:
        torch_version: str | None = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    python = _python_info()
    return (
        ("platform", platform.platform()),
        ("machine", platform.machine()),
        ("hostname", socket.gethostname()),
        ("cpu_count", os.cpu_count()),
        ("memory_bytes", _memory_bytes()),
        ("python_version", python["version"]),
        ("python_implementation", python["implementation"]),
        ("python_executable", python["executable"]),
        ("torch_version", torch_version),
    )


def _cuda_devices() -> list[dict[str, Any]] | None:
    """CUDA devices as [{name, total_memory_bytes}], or None when unknown.

    Only asks torch if the program already imported it: importing torch costs seconds. And only
    once CUDA is initialised: before that, querying a device creates a CUDA context (seconds and
    hundreds of MB of GPU memory) and breaks CUDA in processes forked later.
    """
    torch = sys.modules.get("torch")
    try:
        if torch is None or not torch.cuda.is_initialized() or not torch.cuda.is_available():
            return None
        props = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
        return [{"name": p.name, "total_memory_bytes": int(p.total_memory)} for p in props]
    except Exception:  # a half-imported or unusual torch build must not break a run
        return None


def capture_hardware() -> dict[str, Any]:
    """Return platform, machine, hostname, cpu_count, memory_bytes, python_* and torch facts.

    torch_version comes from package metadata (torch is never imported); cuda_devices is filled
    only when torch is imported and CUDA initialised; cuda_visible_devices is the env setting.
    Cached per process except the torch/CUDA part.
    """
    info = dict(_static_hardware())
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(getattr(torch, "__version__", None), str):
        info["torch_version"] = str(torch.__version__)
    info["cuda_devices"] = _cuda_devices()
    info["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    return info


@functools.lru_cache(maxsize=1)
def _process_start_time() -> float:
    """When this process started (Linux: from /proc; elsewhere: when this module was imported)."""
    try:
        stat = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + int(stat[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return _PROCESS_IMPORTED_AT


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers) raises KeyError or OSError
        return os.environ.get("USER") or os.environ.get("LOGNAME")


def capture_process() -> dict[str, Any]:
    """Return pid, user, cwd, argv (secret option values redacted), start time and hostname."""
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the working directory was deleted
        cwd = None
    start = _process_start_time()
    return {
        "pid": os.getpid(),
        "user": _user(),
        "cwd": cwd,
        "argv": redact_argv(list(sys.argv)),
        "start_time": datetime.fromtimestamp(start, timezone.utc).isoformat(),
        "start_time_unix": start,
        "hostname": socket.gethostname(),
    }


def capture_provenance(cwd: Path | None = None, *, include_packages: bool = True) -> dict[str, Any]:
    """Return the JSON-serializable provenance of this process, run from ``cwd`` (default: cwd).

    Keys: git (see capture_git), python, hardware, process, packages (None when not included)
    and env (redacted). Any string anywhere that contains a secret's value is redacted too.
    """
    result = {
        "git": capture_git(Path.cwd() if cwd is None else cwd),
        "python": _python_info(),
        "hardware": capture_hardware(),
        "process": capture_process(),
        "packages": capture_packages() if include_packages else None,
        "env": redact_environ(os.environ),
    }
    redacted: dict[str, Any] = redact_tree_with(result, current_secrets())
    return redacted


def notebook_as_percent_script(notebook: Path) -> str | None:
    """The notebook at ``notebook`` as py:percent text (outputs dropped), via jupytext.

    Returns None when the file cannot be read or parsed (the run is recorded without it).
    """
    try:
        import jupytext

        nb = jupytext.read(notebook)
        text: str = jupytext.writes(nb, fmt="py:percent")
    except Exception:  # any unreadable notebook: record the run without its text
        return None
    return text
