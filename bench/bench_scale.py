# mypy: disable-error-code="import-untyped, import-not-found"
"""Scale benchmark: ``trackrun ls`` and the REST API at 1k, 10k and 100k runs, server memory.

Run from the repository root::

    python bench/bench_scale.py                        # 1k, 10k, 100k runs, 3 repeats
    python bench/bench_scale.py --quick                # 200 and 1,000 runs, 100k-point chart
    python bench/bench_scale.py --cache /tmp/scale     # keep the stores there and reuse them

Measures, each cold figure the median of ``--repeats`` fresh processes, with the machine's
load average printed beside each section (other work on the machine changes every number):

1. ``python -m trackrun.cli ls`` as a subprocess on stores of N finished runs (written
   directly in the run directory format by ``stores.write_many_runs``): the first one,
   which builds the index (index files deleted before each), then repeats, and ``--limit 0``.
2. The REST run list through a real ``jupyter server`` with the trackrun extension: the
   first ``GET runs?limit=100`` of a fresh server, then windows of 100 rows at offsets 0,
   N/2 and N-100, sorted by a metric, and filtered (first and repeated), the 304 answer to
   a poll with the ETag, and ``GET changes?since=TOKEN&timeout=0`` on an unchanged store.
3. The server process's memory (VmRSS, VmHWM from /proc/PID/status) after starting and
   after listing.
4. A metric of ``--chart-points`` points (default 1,000,000) downsampled to 2,000 points end
   to end through the server: ``GET runs/{id}/metrics`` and ``GET runs/{id}/chart``.

The script reports; it never fails (exit status 0). ``--json PATH`` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python_pkg"))
from child_programs import TOKEN_CHILD  # noqa: E402
from children import PYCACHE, child_env, run_program, timed_cli  # noqa: E402
from figures import load, median_of  # noqa: E402
from scale_report import report  # noqa: E402
from scale_rest import measure_chart, measure_rest  # noqa: E402
from stores import write_many_runs  # noqa: E402


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')} load {load()}] {text}", file=sys.stderr, flush=True)


# -- stores ----------------------------------------------------------------------------------
def many_runs_store(cache: Path, count: int) -> Path:
    """A store of ``count`` finished runs under ``cache``, written once and then reused."""
    store = cache / f"n{count}"
    done = cache / f"n{count}.complete"
    if done.exists():
        say(f"reusing {store}")
        return store
    if store.exists():
        shutil.rmtree(store)  # a write that did not finish
    say(f"writing {count:,} runs into {store} ...")
    seconds = write_many_runs(store, count)
    done.write_text(f"{seconds:.1f}\n")
    say(f"wrote {count:,} runs in {seconds:.1f} s")
    return store


def drop_index(store: Path) -> None:
    """Remove the index so that the next reader builds it from the run folders."""
    for path in (*store.glob("index.duckdb*"), store / "index.lock"):
        path.unlink(missing_ok=True)


def chart_store(cache: Path, points: int) -> tuple[Path, str, float]:
    """A store with one run of ``points`` steps of ``loss``, indexed; (store, run id, ingest s)."""
    store = cache / f"chart-{points}"
    done = cache / f"chart-{points}.complete"
    if done.exists():
        record = json.loads(done.read_text())
        return store, record["run_id"], record["ingest_s"]
    if store.exists():
        shutil.rmtree(store)
    say(f"logging {points:,} points ...")
    code = r"""
import json, sys
import trackrun
store, points = sys.argv[1], int(sys.argv[2])
with trackrun.start_run(name="million", store=store) as run:
    for step in range(points):
        trackrun.log(loss=1.0 / (step + 1), step=step)
print(json.dumps({"run_id": run.run_id}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, str(store), str(points)],
        capture_output=True,
        text=True,
        env=child_env(None),
        check=True,
    )
    run_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    ingest_s = timed_cli(["ls"], store, None)  # builds the index: ingests all
    done.write_text(json.dumps({"run_id": run_id, "ingest_s": ingest_s}))
    say(f"{points:,}-point run ingested by the first `trackrun ls` in {ingest_s:.1f} s")
    return store, run_id, ingest_s


# -- 1. trackrun ls --------------------------------------------------------------------------
def timed_ls(args: list[str], store: Path) -> tuple[float, float]:
    """(wall s, CPU s) of ``python -m trackrun.cli ARGS`` on ``store``, output discarded.

    CPU time (user + system, all threads, from wait4) is reported beside the wall time:
    on a shared machine it moves much less with the other work than the wall time does.
    """
    env = {**child_env(None), "TRACKRUN_HOME": str(store)}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "trackrun.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(err.read().decode(errors="replace")[-300:])
    return elapsed, usage.ru_utime + usage.ru_stime


def measure_ls(store: Path, repeats: int) -> dict[str, Any]:
    first = []
    for _ in range(repeats):
        drop_index(store)
        first.append(timed_ls(["ls"], store))
    again = [timed_ls(["ls"], store) for _ in range(repeats)]
    every = [timed_ls(["ls", "--limit", "0"], store) for _ in range(repeats)]
    tokens = [run_program(TOKEN_CHILD, [str(store)], None) for _ in range(repeats)]
    out: dict[str, Any] = {"load": load(), "ls_first_all": [w for w, _ in first]}
    for name, samples in (("ls_first", first), ("ls", again), ("ls_all", every)):
        out[f"{name}_s"] = statistics.median(w for w, _ in samples)
        out[f"{name}_cpu_s"] = statistics.median(c for _, c in samples)
    out["token_us"] = median_of(tokens, "unchanged_us")
    out["token_first_ms"] = median_of(tokens, "first_ms")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="store sizes (default 1k 10k 100k)")
    parser.add_argument("--rest-sizes", type=int, nargs="*", help="sizes for REST (default all)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per cold figure")
    parser.add_argument("--chart-points", type=int, help="points of the chart metric (1M)")
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 runs, 100k points")
    parser.add_argument("--cache", type=Path, help="keep the stores here and reuse them")
    parser.add_argument("--skip", nargs="*", default=[], choices=("ls", "rest", "chart"))
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers as JSON")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes or ([200, 1_000] if args.quick else [1_000, 10_000, 100_000]))
    cfg: dict[str, Any] = {
        "sizes": sizes,
        "rest_sizes": sorted(args.rest_sizes if args.rest_sizes is not None else sizes),
        "repeats": args.repeats,
        "chart_points": args.chart_points or (100_000 if args.quick else 1_000_000),
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"bench_scale.py at commit {commit or '?'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    results: dict[str, Any] = {"ls": {}, "rest": {}}
    with tempfile.TemporaryDirectory(prefix="trackrun-bench-scale-") as tmp:
        work = Path(tmp)
        PYCACHE["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        cache = args.cache or work / "stores"
        cache.mkdir(parents=True, exist_ok=True)
        try:
            for count in sizes:
                store = many_runs_store(cache, count)
                if "ls" not in args.skip:
                    say(f"trackrun ls at {count:,} runs ...")
                    results["ls"][count] = measure_ls(store, args.repeats)
                    say(f"ls: {results['ls'][count]}")
                if "rest" not in args.skip and count in cfg["rest_sizes"]:
                    if not (store / "index.duckdb").exists():
                        timed_cli(["ls"], store, None)  # the server starts indexed
                    say(f"REST at {count:,} runs ...")
                    results["rest"][count] = measure_rest(store, count, work, args.repeats)
                    say(f"rest: {results['rest'][count]}")
            if "chart" not in args.skip:
                store, run_id, cfg["chart_ingest_s"] = chart_store(cache, cfg["chart_points"])
                say("chart fetch ...")
                results["chart"] = measure_chart(store, run_id, work, args.repeats)
        except Exception as error:  # noqa: BLE001 - the script reports; it never fails
            print(f"\nbench_scale.py stopped early: {type(error).__name__}: {error}")
        report(results, cfg)
    print("\nuptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cfg, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
