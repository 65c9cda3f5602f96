"""How long `trackrun ls` waits for the index lock while other processes poll the store.

One process logs into a live run and ``--pollers`` processes call ``trackrun.runs()`` ten
times a second (what a notebook that refreshes a table does); meanwhile `trackrun ls` runs
``--rounds`` times in a fresh interpreter that times each ``FairLock.acquire`` it makes. The
same is done first with nobody else around. Prints, for each setting, every round's wall
time and lock waits, then the max and median lock wait and the load average. The store's
guarantee (issue 15, case 6) is that no caller waits more than about 2 s behind pollers;
this probe measures it and asserts nothing.

    python bench/probe_fair_lock.py                    # 3 pollers, 5 rounds
    python bench/probe_fair_lock.py --pollers 6 --rounds 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent.parent / "python_pkg")
_WRITER = """
import os, sys, time, trackrun
with trackrun.start_run(name="live") as run:
    print("ready", flush=True)
    i = 0
    while not os.path.exists(sys.argv[1]):
        trackrun.log(x=i, step=i)
        i += 1
        time.sleep(0.01)
"""
_POLLER = """
import os, sys, time, trackrun
trackrun.runs()
print("ready", flush=True)
polls = 0
while not os.path.exists(sys.argv[1]):
    trackrun.runs()
    polls += 1
    time.sleep(0.1)
print(polls)
"""
# `trackrun ls` in this interpreter, each lock acquisition timed (a probe may wrap our code).
_LS = """
import contextlib, io, json, time
import trackrun.store.lock as lock
waits = []
acquire = lock.FairLock.acquire
def timed(self, timeout):
    start = time.monotonic()
    acquire(self, timeout)
    waits.append(time.monotonic() - start)
lock.FairLock.acquire = timed
from trackrun.cli import main
start = time.monotonic()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["ls"])
print(json.dumps({"code": code, "wall": time.monotonic() - start, "waits": waits}))
"""


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRUN_")}
    env["PYTHONPATH"] = os.pathsep.join([_PACKAGE, env.get("PYTHONPATH", "")])
    env.update(TRACKRUN_HOME=str(store), TRACKRUN_FLUSH_INTERVAL="0.2")
    return env


def _ls(env: dict[str, str]) -> dict[str, float | list[float]]:
    done = subprocess.run(
        [sys.executable, "-c", _LS], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise SystemExit(f"trackrun ls failed:\n{done.stderr}")
    answer: dict[str, float | list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _report(label: str, rounds: list[dict[str, float | list[float]]]) -> None:
    waits = [w for r in rounds for w in r["waits"]]  # type: ignore[union-attr]
    for r in rounds:
        shown = ", ".join(f"{w:.3f}" for w in r["waits"])  # type: ignore[union-attr]
        print(f"{label}: ls {r['wall']:.2f} s, lock waits [{shown}] s")
    print(
        f"{label}: max lock wait {max(waits, default=0):.3f} s, "
        f"median {statistics.median(waits) if waits else 0:.3f} s over {len(waits)} acquisitions"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pollers", type=int, default=3, help="processes polling at 10 Hz")
    parser.add_argument("--rounds", type=int, default=5, help="`trackrun ls` runs per setting")
    parser.add_argument("--runs", type=int, default=10, help="finished runs in the store")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trackrun-fair-") as folder:
        store, stop = Path(folder) / "store", Path(folder) / "stop"
        env = _env(store)
        fill = "import trackrun\nfor i in range(int(__import__('sys').argv[1])):\n"
        fill += (
            "    with trackrun.start_run(params={'i': i}):\n        trackrun.log(x=1.0, step=0)\n"
        )
        subprocess.run([sys.executable, "-c", fill, str(args.runs)], env=env, check=True)
        _report("alone", [_ls(env) for _ in range(args.rounds)])
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(stop)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for code in (_WRITER, *[_POLLER] * args.pollers)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise SystemExit(f"a helper process failed:\n{proc.communicate()[1]}")
            rounds = [_ls(env) for _ in range(args.rounds)]
        finally:
            stop.touch()
            outputs = [proc.communicate(timeout=120)[0] for proc in procs]
        _report(f"{args.pollers} pollers", rounds)
        polls = [out.split()[-1] for out in outputs[1:] if out.split()]
        print(f"polls per poller while measured: {', '.join(polls)}")
    load = os.getloadavg()
    print(f"load average (1/5/15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
