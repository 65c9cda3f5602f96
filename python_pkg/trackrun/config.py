"""The project config: which jobs backend detached runs use, and its default options.

Read from ``[tool.trackrun]`` in the nearest ``pyproject.toml`` (from the working folder up
to the git root) and from ``<store>/config.toml`` (e.g. ``.trackrun/config.toml``); the
store's file wins key by key. A cell's own options win over both, and the built-in default
backend is ``local``::

    [tool.trackrun]            # in config.toml: no header, the keys at the top level
    backend = "slurm"
    max_parallel = 2           # local detached runs at once (default: the CPU cores)
    [tool.trackrun.slurm]      # in config.toml: [slurm]
    partition = "gpu"
    time = "04:00:00"
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackrun.errors import TrackrunError
from trackrun.layout import find_git_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: The backend when neither the cell nor the project config names one.
DEFAULT_BACKEND = "local"
#: sbatch options that take no value (written bare in --slurm text).
SLURM_FLAGS = frozenset({"exclusive", "overcommit", "contiguous", "spread-job", "oversubscribe"})
#: sbatch options trackrun sets itself (it owns the job's name, output and array).
SLURM_RESERVED = frozenset(
    {"output", "error", "input", "array", "wrap", "job-name", "parsable", "chdir", "open-mode"}
)
_KEY = re.compile(r"[a-z][a-z0-9-]*")


class ConfigError(TrackrunError):
    """The project config or a cell's backend options cannot be used as written."""


@dataclass(frozen=True)
class ProjectConfig:
    """The merged project config (``backend`` None when no file names one)."""

    backend: str | None = None
    slurm: dict[str, str] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()
    #: Local detached runs started at once (None: the built-in default).
    max_parallel: int | None = None


def load_config(store_root: Path, cwd: Path | None = None) -> ProjectConfig:
    """Read the project config for ``store_root`` (pyproject.toml, then the store's
    config.toml). Raises ConfigError naming the file for unreadable TOML or bad values."""
    backend: str | None = None
    max_parallel: int | None = None
    slurm: dict[str, str] = {}
    sources: list[Path] = []
    pyproject = _nearest_pyproject((cwd or Path.cwd()).resolve())
    layers: list[tuple[Path, dict[str, Any]]] = []
    if pyproject is not None:
        section = _read_toml(pyproject).get("tool", {}).get("trackrun")
        if isinstance(section, dict):
            layers.append((pyproject, section))
    store_file = store_root / "config.toml"
    if store_file.is_file():
        layers.append((store_file, _read_toml(store_file)))
    for path, data in layers:
        sources.append(path)
        if "backend" in data:
            if not isinstance(data["backend"], str) or not data["backend"]:
                raise ConfigError(f'{path}: `backend` must be a name such as "slurm"')
            backend = data["backend"]
        if "max_parallel" in data:
            value = data["max_parallel"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{path}: `max_parallel` must be a whole number of runs, 1 or more "
                    f"(not {value!r}), e.g. max_parallel = 2"
                )
            max_parallel = value
        options = data.get("slurm", {})
        if not isinstance(options, dict):
            raise ConfigError(f"{path}: `slurm` must be a table of sbatch options")
        for key, value in options.items():
            name = _check_key(str(key), str(path))
            if isinstance(value, bool) and name in SLURM_FLAGS:  # exclusive = true
                if value:
                    slurm[name] = ""
                continue
            slurm[name] = _check_value(key, value, str(path))
    return ProjectConfig(backend, slurm, tuple(sources), max_parallel)


def parse_slurm_options(text: str) -> dict[str, str]:
    """Read ``--slurm`` text: space-separated ``key=value`` sbatch options (``partition=gpu
    gres=gpu:1 time=04:00:00``), plus bare flags such as ``exclusive``.

    Returns the options by key (``-`` for ``_``). Raises ConfigError naming the bad part.
    """
    where = "--slurm"
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise ConfigError(f"{where}: cannot read {text!r} ({error})") from None
    options: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.lstrip("-")
        if not sep:
            if key.replace("_", "-") in SLURM_FLAGS:
                options[key.replace("_", "-")] = ""
                continue
            raise ConfigError(
                f"{where}: {token!r} has no value; write options as space-separated "
                'key=value pairs, e.g. --slurm "partition=gpu time=04:00:00 gres=gpu:1"'
            )
        options[_check_key(key, where)] = _check_value(key, value, where)
    return options


def resolve_backend(
    store_root: Path, backend: str | None = None, slurm_text: str | None = None
) -> tuple[str, dict[str, str]]:
    """The backend and SLURM options for one detached cell: the cell's ``--on`` and
    ``--slurm`` over the project config over the built-in default. Raises ConfigError."""
    config = load_config(store_root)
    options = dict(config.slurm)
    if slurm_text:
        options.update(parse_slurm_options(slurm_text))
    return backend or config.backend or DEFAULT_BACKEND, options


def _check_key(key: str, where: str) -> str:
    key = key.replace("_", "-").lower()
    if not _KEY.fullmatch(key):
        raise ConfigError(f"{where}: {key!r} is not an sbatch option name")
    if key in SLURM_RESERVED:
        raise ConfigError(
            f"{where}: trackrun sets --{key} itself (the job's output goes to the run's "
            "output.log); remove it"
        )
    return key


def _check_value(key: object, value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{where}: the value of {key} must be a string or a number")
    text = str(value)
    if not text or any(c in text for c in "\n\r\0"):
        raise ConfigError(f"{where}: the value of {key} is empty or spans lines")
    return text


def _nearest_pyproject(start: Path) -> Path | None:
    stop = find_git_root(start)
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
        if folder == stop:
            break
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
            return data
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
