"""trackrun: notebook-native experiment tracking (``import trackrun``; ``%load_ext trackrun``).

Importing this package is light: it never imports DuckDB, IPython or torch.
"""

from trackrun.api import (
    artifact,
    checkpoint,
    compare,
    current_run,
    diff,
    finish,
    get_store,
    kill,
    log,
    log_figure,
    log_image,
    log_params,
    metrics,
    rename,
    reproduce,
    resume,
    runs,
    set_note,
    sql,
    start_run,
    tag,
)
from trackrun.checkpoints import Checkpoint
from trackrun.codecapture import watch_current_shell
from trackrun.errors import TrackrunError
from trackrun.run import Run
from trackrun.table import Table

# In a kernel, remember from now on which inputs fail (reproduce drops them from a slice).
watch_current_shell()

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the built panel (used by `jupyter labextension develop`)."""
    return [{"src": "../../labextension", "dest": "trackrun"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension: the REST API and the launcher of detached runs."""
    return [{"module": "trackrun.server"}]


def load_ipython_extension(shell: object) -> None:
    """``%load_ext trackrun``: register the %track_run magics (imports IPython lazily) and
    bind ``trackrun`` in the namespace, so ``trackrun.log(...)`` works in the next cell."""
    import sys

    from trackrun.magic import load_ipython_extension as load

    load(shell, sys.modules[__name__])


__all__ = [
    "Checkpoint",
    "Run",
    "Table",
    "TrackrunError",
    "artifact",
    "checkpoint",
    "compare",
    "current_run",
    "diff",
    "finish",
    "get_store",
    "kill",
    "log",
    "log_figure",
    "log_image",
    "log_params",
    "metrics",
    "rename",
    "reproduce",
    "resume",
    "runs",
    "set_note",
    "sql",
    "start_run",
    "tag",
]
