"""Benchmark of the REST API: listing 10,000 runs, a 1,000,000-point metric fetch, a 1 GB log tail.

Starts a real ``jupyter server`` with the trackrun extension on a temporary store and times
requests from this process. Targets (from the issue): GET runs over 10,000 runs < 150 ms;
a downsampled 1,000,000-point metric fetch < 300 ms; a log tail of a 1 GB log reads only
what it returns. Reports, never fails: ``python bench/bench_server.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def make_store(root: Path, count: int) -> tuple[str, str]:
    """``count`` small finished runs, one run with 1,000,000 points and one with a 1 GB log."""
    os.environ["TRACKRUN_HOME"] = str(root)
    import trackrun
    from trackrun.run import Run

    started = time.perf_counter()
    for i in range(count):
        run = Run.start(
            root,
            name=f"run-{i}",
            params={"lr": 10 ** -(i % 5), "seed": i % 7},
            tags=["bench"],
            provenance={},
        )
        run.log({"loss": 1.0 / (i + 1), "acc": (i % 100) / 100}, step=0)
        run.finish()
    print(f"created {count} runs in {time.perf_counter() - started:.1f}s", flush=True)
    with trackrun.start_run(name="million", store=root) as big:
        for step in range(1_000_000):
            trackrun.log(loss=1.0 / (step + 1), step=step)
    with trackrun.start_run(name="huge-log", store=root) as logged:
        pass
    block = (b"x" * 1023 + b"\n") * 1024  # 1 MiB
    with open(logged.paths.output_log, "wb") as f:
        for _ in range(1024):
            f.write(block)
    started = time.perf_counter()
    print(f"indexed {len(trackrun.runs(store=root, limit=1))} + ... runs", flush=True)
    trackrun.get_store(root).close()
    print(f"first ingestion took {time.perf_counter() - started:.1f}s", flush=True)
    return big.run_id, logged.run_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(store: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port, token = free_port(), secrets.token_hex(8)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}",
         f"--ServerApp.root_dir={workdir}", f"--IdentityProvider.token={token}",
         "--ServerApp.jpserver_extensions={'trackrun': True}", f"--TrackrunServer.store={store}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            get(base, token, "/trackrun/api/status")
            return process, base, token
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def get(base: str, token: str, path: str) -> Any:
    req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=120) as response:
        return json.loads(response.read())


def timed(base: str, token: str, path: str, repeat: int = 7) -> tuple[float, list[float], Any]:
    times, body = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        body = get(base, token, path)
        times.append((time.perf_counter() - started) * 1000)
    return times[0], times[1:], body


def read_bytes_of(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        big, logged = make_store(store, args.runs)
        process, base, token = start_server(store, Path(tmp))
        try:
            rows = []
            first, warm, body = timed(base, token, "/trackrun/api/runs")
            rows.append(("GET runs (first page of 200)", first, warm, f"total {body['total']}"))
            first, warm, body = timed(base, token, f"/trackrun/api/runs?limit={args.runs + 2}")
            rows.append(
                (f"GET runs (all {body['total']})", first, warm, f"{len(body['runs'])} rows")
            )
            first, warm, body = timed(
                base,
                token,
                "/trackrun/api/runs?filter=params.lr%20%3C%200.01%20and%20metrics.acc%20%3E%200.5",
            )
            rows.append(("GET runs with a filter", first, warm, f"total {body['total']}"))
            first, warm, body = timed(
                base, token, f"/trackrun/api/runs/{big}/metrics?keys=loss&max_points=2000"
            )
            points = len(body["series"]["loss"]["steps"])
            rows.append(
                ("1,000,000-point metric fetch, downsampled", first, warm, f"{points} points sent")
            )
            before = read_bytes_of(process.pid)
            first, warm, body = timed(base, token, f"/trackrun/api/runs/{logged}/log?offset=-65536")
            read = (read_bytes_of(process.pid) - before) / 7
            rows.append(
                (
                    "log tail of a 1 GiB log (64 KiB)",
                    first,
                    warm,
                    f"server read ~{read / 1024:.0f} KiB per request",
                )
            )
            print("\n| request | first (ms) | median after (ms) | note |\n|---|---|---|---|")
            for name, one, rest, note in rows:
                print(f"| {name} | {one:.1f} | {statistics.median(rest):.1f} | {note} |")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
