"""Code capture of runs started through the API in a script: source, argv and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = str(Path(__file__).resolve().parents[1] / "python_pkg")


def test_each_run_of_a_script_gets_its_own_output(tmp_path: Path, isolated_store: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(
        "import sys\nimport trackrun\n"
        "for i in range(3):\n"
        "    with trackrun.start_run(name=f'r{i}'):\n"
        "        print('inside', i)\n"
        "        print('warning', i, file=sys.stderr)\n"
        "    print('between', i)\n"
    )
    env = {**os.environ, "PYTHONPATH": PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, str(script), "--flag"], env=env, capture_output=True, text=True,
        timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(f"inside {i}\nbetween {i}\n" for i in range(3))
    runs = sorted(
        (json.loads(p.read_text()) for p in (isolated_store / "runs").glob("*/run.json")),
        key=lambda r: r["name"],
    )
    for i, run in enumerate(runs):
        run_dir = isolated_store / "runs" / run["run_id"]
        assert run["launch"] == {
            "kind": "script",
            "script": str(script),
            "argv": [str(script), "--flag"],
        }
        assert (run_dir / "output.log").read_text() == f"inside {i}\nwarning {i}\n"
        assert (run_dir / "code" / "script.py").read_text() == script.read_text()
