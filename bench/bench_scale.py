# mypy: disable-error-code="import-untyped, import-not-found"
"""Scale benchmark: ``trackrun ls`` and the REST API at 1k, 10k and 100k runs, server memory.

Run from the repository root::

    python bench/bench_scale.py                        # 1k, 10k, 100k runs, 3 repeats
    python bench/bench_scale.py --quick                # 200 and 1,000 runs, 100k-point chart
    python bench/bench_scale.py --cache /tmp/scale     # keep the stores there and reuse them

Measures, each cold figure the median of ``--repeats`` fresh processes, with the machine's
load average printed beside each section (other work on the machine changes every number):

1. ``python -m trackrun.cli ls`` as a subprocess on stores of N finished runs (written
   directly in the run directory format by ``bench_store.write_many_runs``): the first one,
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
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_store  # noqa: E402

ORDER = "metrics.acc desc"
FILTER = "params.lr < 0.001"
WINDOW = 100
WARM_REPEATS = 5


def load() -> str:
    """The load average (1, 5, 15 min) as text, as ``uptime`` prints it."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


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
    seconds = bench_store.write_many_runs(store, count)
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
        env=bench_store.child_env(None),
        check=True,
    )
    run_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    ingest_s = bench_store.timed_cli(["ls"], store, None)  # builds the index: ingests all
    done.write_text(json.dumps({"run_id": run_id, "ingest_s": ingest_s}))
    say(f"{points:,}-point run ingested by the first `trackrun ls` in {ingest_s:.1f} s")
    return store, run_id, ingest_s


# -- 1. trackrun ls --------------------------------------------------------------------------
def timed_ls(args: list[str], store: Path) -> tuple[float, float]:
    """(wall s, CPU s) of ``python -m trackrun.cli ARGS`` on ``store``, output discarded.

    CPU time (user + system, all threads, from wait4) is reported beside the wall time:
    on a shared machine it moves much less with the other work than the wall time does.
    """
    env = {**bench_store.child_env(None), "TRACKRUN_HOME": str(store)}
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
    tokens = [
        bench_store.run_child([str(store)], None, code=bench_store.TOKEN_CHILD)
        for _ in range(repeats)
    ]
    out: dict[str, Any] = {"load": load(), "ls_first_all": [w for w, _ in first]}
    for name, samples in (("ls_first", first), ("ls", again), ("ls_all", every)):
        out[f"{name}_s"] = statistics.median(w for w, _ in samples)
        out[f"{name}_cpu_s"] = statistics.median(c for _, c in samples)
    out["token_us"] = bench_store.median_of(tokens, "unchanged_us")
    out["token_first_ms"] = bench_store.median_of(tokens, "first_ms")
    return out


# -- the server ------------------------------------------------------------------------------
class Server:
    """A ``jupyter server`` subprocess with the trackrun extension on one store."""

    def __init__(self, store: Path, work: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.token = secrets.token_hex(12)
        self.base = f"http://127.0.0.1:{port}"
        home = work / f"home-{port}"
        env = bench_store.child_env(None)
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_DATA_DIR=str(home / "data"),
        )
        self.log_path = work / f"server-{port}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                 f"--port={port}", "--ip=127.0.0.1", "--ServerApp.port_retries=0",
                 f"--ServerApp.root_dir={work}", f"--IdentityProvider.token={self.token}",
                 "--ServerApp.jpserver_extensions={'trackrun': True}",
                 f"--TrackrunServer.store={store}"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(work),
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log_path.read_text()[-2000:]}")
            try:  # Jupyter's own status: no trackrun code runs before the first timed call
                self.request("/api/status")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("jupyter server did not start in 120 s")

    def request(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[float, int, bytes, dict[str, str]]:
        """(ms, status, body, headers) of ``GET path``, timed to the last byte read (header
        names in lower case; a 304 answer is returned, any other error raised)."""
        req = urllib.request.Request(
            self.base + path, headers={"Authorization": f"token {self.token}", **(headers or {})}
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=600) as response:
                body = response.read()
                status, got = response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            body, status, got = error.read(), error.code, {}
            if status != 304:
                raise RuntimeError(f"GET {path}: {status} {body[:300]!r}") from None
        return (time.perf_counter() - started) * 1e3, status, body, got

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server process, in KiB."""
        out = {}
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    out[name] = int(value.split()[0])
        return out

    def cpu_ms(self) -> float:
        """User + system CPU time of the server process so far (all threads), in ms."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1e3 / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def runs_path(offset: int, order_by: str | None = None, filter_text: str | None = None) -> str:
    query: dict[str, Any] = {"limit": WINDOW, "offset": offset}
    if order_by:
        query["order_by"] = order_by
    if filter_text:
        query["filter"] = filter_text
    return "/trackrun/api/runs?" + urllib.parse.urlencode(query)


def first_and_warm(server: Server, path: str) -> tuple[float, float, bytes, dict[str, str]]:
    """The first request of ``path`` and the median of WARM_REPEATS repeats (ms)."""
    first, _, body, headers = server.request(path)
    warm = [server.request(path)[0] for _ in range(WARM_REPEATS)]
    return first, statistics.median(warm), body, headers


# -- 2 and 3. REST list windows and memory ---------------------------------------------------
def measure_rest_once(store: Path, count: int, work: Path) -> dict[str, Any]:
    """One fresh server: its first list window, then each window first and repeated."""
    server = Server(store, work)
    out: dict[str, Any] = {}
    try:
        out["rss_start_kib"] = server.memory_kib()["VmRSS"]
        windows = {
            "first_window": runs_path(0),
            "window_mid": runs_path(max(0, count // 2)),
            "window_end": runs_path(max(0, count - WINDOW)),
            "window_sorted": runs_path(0, ORDER),
            "window_sorted_mid": runs_path(max(0, count // 2), ORDER),
            "window_filtered": runs_path(0, None, FILTER),
        }
        for name, path in windows.items():
            cpu = server.cpu_ms()
            first, _, body, headers = server.request(path)
            out[f"{name}_first_cpu_ms"] = server.cpu_ms() - cpu
            warm = statistics.median(server.request(path)[0] for _ in range(WARM_REPEATS))
            page = json.loads(body)
            out[f"{name}_first_ms"], out[f"{name}_warm_ms"] = first, warm
            out[f"{name}_rows"], out[f"{name}_total"] = len(page["runs"]), page["total"]
            out[f"{name}_bytes"] = len(body)
            if name == "first_window":
                etag, token = headers.get("etag", ""), page["change_token"]
        # A poll of an unchanged store: the ETag answered 304, and the change feed.
        polls = [server.request(windows["first_window"], {"If-None-Match": etag}) for _ in range(7)]
        out["poll_304_ms"] = statistics.median(p[0] for p in polls)
        out["poll_304_status"] = polls[-1][1]
        feed = "/trackrun/api/changes?" + urllib.parse.urlencode({"since": token, "timeout": 0})
        first, warm, body, _ = first_and_warm(server, feed)
        answer = json.loads(body)
        out["changes_first_ms"], out["changes_warm_ms"] = first, warm
        out["changes_rows"] = len(answer["runs"]) + len(answer["deleted"])
        out["changes_same_token"] = answer["change_token"] == token and not answer["reset"]
        memory = server.memory_kib()
        out["rss_kib"], out["hwm_kib"] = memory["VmRSS"], memory["VmHWM"]
    finally:
        server.stop()
    return out


def measure_rest(store: Path, count: int, work: Path, repeats: int) -> dict[str, Any]:
    samples = [measure_rest_once(store, count, work) for _ in range(repeats)]
    out: dict[str, Any] = {"load": load()}
    for key, value in samples[0].items():
        if isinstance(value, bool):
            out[key] = all(s[key] for s in samples)
        elif isinstance(value, float | int):
            out[key] = statistics.median(s[key] for s in samples)
    out["first_window_first_all"] = [s["first_window_first_ms"] for s in samples]
    return out


# -- 4. chart fetch --------------------------------------------------------------------------
def measure_chart(store: Path, run_id: str, work: Path, repeats: int) -> dict[str, Any]:
    samples = []
    query = urllib.parse.urlencode({"keys": "loss", "max_points": 2000})
    for _ in range(repeats):
        server = Server(store, work)
        try:
            sample: dict[str, Any] = {}
            # The first trackrun request of the process pays for opening the index: time a
            # status call first so that the chart figures are the fetches themselves.
            sample["status_first_ms"] = server.request("/trackrun/api/status")[0]
            for name, route in (("metrics", "metrics"), ("chart", "chart")):
                path = f"/trackrun/api/runs/{run_id}/{route}?{query}"
                cpu = server.cpu_ms()
                first, _, body, _ = server.request(path)
                sample[f"{name}_first_cpu_ms"] = server.cpu_ms() - cpu
                warm = statistics.median(server.request(path)[0] for _ in range(WARM_REPEATS))
                sample[f"{name}_first_ms"], sample[f"{name}_warm_ms"] = first, warm
                sample[f"{name}_bytes"] = len(body)
                if name == "metrics":
                    sample["points_sent"] = len(json.loads(body)["series"]["loss"]["steps"])
            samples.append(sample)
        finally:
            server.stop()
    out: dict[str, Any] = {"load": load()}
    for key in samples[0]:
        out[key] = statistics.median(s[key] for s in samples)
    return out


# -- report ----------------------------------------------------------------------------------
def fmt(value: float | None, unit: str = "ms") -> str:
    return bench_store.fmt(value, unit)


def growth(values: dict[int, float]) -> str:
    """Each step's factor against the factor in runs (x10 time for x10 runs is linear)."""
    sizes = sorted(values)
    parts = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        if values[a] > 0:
            parts.append(f"x{values[b] / values[a]:.1f} for x{b / a:g} runs")
    return "; ".join(parts) or "-"


def report(results: dict[str, Any], cfg: dict[str, Any]) -> None:
    sizes = cfg["sizes"]
    ls = results["ls"]
    sizes = [n for n in sizes if n in ls]
    if sizes:
        print(f"\n## `trackrun ls` (median of {cfg['repeats']} fresh processes)\n")
        print("| measure | " + " | ".join(f"{n:,} runs" for n in sizes) + " | growth |")
        print("|---" * (len(sizes) + 2) + "|")
    for key, label, unit, scale in (
        ("ls_first_s", "first (builds the index), wall", "s", 1),
        ("ls_first_cpu_s", "first, CPU (user + sys)", "s", 1),
        ("ls_s", "repeat (50 rows), wall", "s", 1),
        ("ls_cpu_s", "repeat, CPU", "s", 1),
        ("ls_all_s", "`--limit 0` (all rows), wall", "s", 1),
        ("ls_all_cpu_s", "`--limit 0`, CPU", "s", 1),
        ("token_us", "`Store.change_token()`, unchanged store, in-process", "ms", 1e-3),
        ("token_first_ms", "`Store.change_token()`, first look of a process", "ms", 1),
    ):
        if not sizes:
            break
        values = {n: ls[n][key] * scale for n in sizes}
        cells = " | ".join(fmt(values[n], unit) for n in sizes)
        print(f"| {label} | {cells} | {growth(values)} |")
    if sizes:
        print("| load average | " + " | ".join(ls[n]["load"] for n in sizes) + " | |")

    rest = results.get("rest", {})
    if rest:
        rsizes = [n for n in sizes if n in rest]
        print(
            f"\n## REST run list, windows of {WINDOW} rows (first: median over "
            f"{cfg['repeats']} fresh servers; repeat: median of {WARM_REPEATS})\n"
        )
        print("| request | " + " | ".join(f"{n:,} runs" for n in rsizes) + " | growth |")
        print("|---" * (len(rsizes) + 2) + "|")
        rows = [
            ("first_window_first_ms", "first `GET runs` of a fresh server (offset 0)"),
            ("first_window_first_cpu_ms", "  its server CPU time (10 ms ticks)"),
            ("first_window_warm_ms", "offset 0, repeat"),
            ("window_mid_first_ms", "offset N/2, first"),
            ("window_mid_warm_ms", "offset N/2, repeat"),
            ("window_end_first_ms", "offset N-100, first"),
            ("window_end_warm_ms", "offset N-100, repeat"),
            ("window_sorted_first_ms", f"`order_by={ORDER}`, offset 0, first"),
            ("window_sorted_warm_ms", f"`order_by={ORDER}`, offset 0, repeat"),
            ("window_sorted_mid_first_ms", f"`order_by={ORDER}`, offset N/2, first"),
            ("window_filtered_first_ms", f"`filter={FILTER}`, first"),
            ("window_filtered_warm_ms", f"`filter={FILTER}`, repeat"),
            ("poll_304_ms", "poll with the ETag, unchanged store (304)"),
            ("changes_first_ms", "`GET changes?since=TOKEN&timeout=0`, unchanged, first"),
            ("changes_warm_ms", "`GET changes`, unchanged, repeat"),
        ]
        for key, label in rows:
            values = {n: rest[n][key] for n in rsizes}
            cells = " | ".join(fmt(values[n]) for n in rsizes)
            print(f"| {label} | {cells} | {growth(values)} |")
        mem = [
            ("rss_start_kib", "server VmRSS after start (before any trackrun request)"),
            ("rss_kib", "server VmRSS after listing"),
            ("hwm_kib", "server VmHWM (peak) after listing"),
        ]
        for key, label in mem:
            values = {n: rest[n][key] / 1024 for n in rsizes}
            cells = " | ".join(f"{values[n]:,.0f} MiB" for n in rsizes)
            print(f"| {label} | {cells} | |")
        print("| load average | " + " | ".join(rest[n]["load"] for n in rsizes) + " | |")
        notes = []
        for n in rsizes:
            r = rest[n]
            notes.append(
                f"{n:,} runs: rows {r['first_window_rows']:.0f}/{r['first_window_total']:.0f}, "
                f"filtered total {r['window_filtered_total']:.0f}, "
                f"window {r['first_window_bytes'] / 1024:.0f} KiB, "
                f"304 status {r['poll_304_status']:.0f}, "
                f"changes unchanged and same token: {r['changes_same_token']}"
            )
        print("\n" + "\n".join(f"- {n}" for n in notes))

    chart = results.get("chart")
    if chart:
        points = cfg["chart_points"]
        print(
            f"\n## {points:,}-point metric, downsampled to 2,000 points through the server "
            f"(median over {cfg['repeats']} fresh servers)\n"
        )
        print("| request | first | server CPU, first | repeat | sent |\n|---|---|---|---|---|")
        for name, route in (("metrics", "metrics"), ("chart", "chart (Vega-Lite spec)")):
            print(
                f"| `GET runs/{{id}}/{route}?keys=loss&max_points=2000` "
                f"| {fmt(chart[f'{name}_first_ms'])} | {fmt(chart[f'{name}_first_cpu_ms'])} "
                f"| {fmt(chart[f'{name}_warm_ms'])} "
                f"| {chart[f'{name}_bytes'] / 1024:.0f} KiB |"
            )
        print(
            f"\nPoints sent: {chart['points_sent']:.0f}. First `GET status` of each server "
            f"(opens the index): {fmt(chart['status_first_ms'])}. Ingest of the "
            f"{points:,} points by the first `trackrun ls`: {cfg['chart_ingest_s']:.1f} s. "
            f"Load: {chart['load']}."
        )
        status = "PASS" if chart["metrics_first_ms"] < 300 else "FAIL"
        print(f"{status}: metric fetch, first, < 300 ms: {chart['metrics_first_ms']:.0f} ms")


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
        bench_store.PYCACHE["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
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
                        bench_store.timed_cli(["ls"], store, None)  # the server starts indexed
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
