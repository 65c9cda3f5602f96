"""The main job: run the example notebooks headless in a real kernel, then show what trackrun saw.

Usage: ``python examples/demo.py`` (``bash .ci/demo`` sets the machine up first). Runs land
in the default store, ``.trackrun/`` at the repository root, so JupyterLab started from
the repository shows them; executed copies of the notebooks go to ``examples/executed/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent
REPO = EXAMPLES.parent
NOTEBOOKS = ("quickstart.ipynb", "detach_and_reattach.ipynb")


def run_notebook(name: str) -> None:
    """Execute one example in a fresh kernel, printing a line per cell as it finishes."""
    source = EXAMPLES / name
    nb = nbformat.read(source, as_version=4)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    done = 0
    started = time.monotonic()

    def on_cell_executed(cell: nbformat.NotebookNode, **_: object) -> None:
        nonlocal done
        if cell.cell_type == "code":
            done += 1
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            print(f"  [{done:2d}/{code_cells}] {first}", flush=True)

    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    env["JPY_SESSION_NAME"] = str(source)  # as JupyterLab does: the run records its notebook
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
        on_cell_executed=on_cell_executed,
    )
    print(f"running {name} ({code_cells} code cells)", flush=True)
    client.execute(env=env)
    out = EXAMPLES / "executed"
    out.mkdir(exist_ok=True)
    nbformat.write(nb, out / name)
    print(f"  done in {time.monotonic() - started:.0f}s; executed copy: {out / name}\n", flush=True)


def trackrun_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "trackrun.cli", *args], check=True, cwd=REPO)


def main() -> None:
    for name in NOTEBOOKS:
        run_notebook(name)
    print("== trackrun ls (the newest runs)", flush=True)
    trackrun_cli("ls", "--limit", "10")
    import trackrun

    quickstart = trackrun.runs("tag:quickstart", limit=2)["run_id"]
    print("\n== trackrun compare (the two quickstart runs)", flush=True)
    trackrun_cli("compare", *quickstart)
    root_flag = " --allow-root" if os.geteuid() == 0 else ""
    print(
        "\nBrowse these runs in JupyterLab (the trackrun panel is in the left sidebar):\n"
        f"  cd {REPO} && jupyter lab{root_flag} examples/quickstart.ipynb\n"
        "From a terminal: trackrun ls | trackrun show RUN | trackrun logs RUN | trackrun --help"
    )


if __name__ == "__main__":
    main()
