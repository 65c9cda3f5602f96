"""The programs the store benchmarks run in fresh processes (``children.run_program``), each
printing its numbers as one JSON line: a query timed cold, warm and recomputed; the first
ingest against DuckDB's own ``read_json``, then appended chunks; ``change_token`` polls.
"""

from __future__ import annotations

#: Time the first call of a query kind (query, history, or all runs), with or without the
#: imports first; then warm repeats, and repeats with the remembered answers dropped.
#: Arguments: kind, store, run id, preimport (1 or 0), filter.
QUERY_CHILD = r"""
import json, statistics, sys, time
kind, store, run_id, preimport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
FILTER = sys.argv[5]
out = {}
import trackrun
if preimport:
    t = time.perf_counter()
    import duckdb
    out["import_duckdb_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    import numpy
    out["import_numpy_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    import pyarrow  # trackrun no longer needs it; older versions imported it with the store
    out["import_pyarrow_ms"] = (time.perf_counter() - t) * 1e3
if kind == "query":
    call = lambda: len(trackrun.runs(FILTER, store=store))
elif kind == "history":
    call = lambda: len(trackrun.metrics(run_id, "loss", store=store))
else:
    call = lambda: len(trackrun.runs(store=store))
t = time.perf_counter()
out["rows"] = call()
out["cold_ms"] = (time.perf_counter() - t) * 1e3
s = trackrun.get_store(store)
out["pyarrow_imported"] = "pyarrow" in sys.modules
out["numpy_imported"] = "numpy" in sys.modules
warm = []
for _ in range(7):
    t = time.perf_counter(); call(); warm.append((time.perf_counter() - t) * 1e3)
out["warm_ms"] = statistics.median(warm)
forget = getattr(s, "_forget_answers", None)
if forget is not None:
    again = []
    for _ in range(7):
        forget()
        t = time.perf_counter(); call(); again.append((time.perf_counter() - t) * 1e3)
    out["recomputed_ms"] = statistics.median(again)
s.close()
print(json.dumps(out))
"""


#: The first query after logging (ingest into a new index) against DuckDB's
#: own read_json of the same events.jsonl into a table, in the same process; then steady
#: state: chunks of the same size appended and ingested.
INGEST_CHILD = r"""
import json, os, shutil, sys, time
store, events, chunks = sys.argv[1], sys.argv[2], sys.argv[3:]
import duckdb
import trackrun
from trackrun.store import Store
out = {}
s = Store(store)
t = time.perf_counter()
out["rows"] = len(s.runs())
out["first_query_ms"] = (time.perf_counter() - t) * 1e3
con = duckdb.connect()
path = events.replace("'", "''")
t = time.perf_counter()
con.execute(f"CREATE TABLE e AS SELECT * FROM read_json('{path}', format = 'newline_delimited')")
out["read_json_ms"] = (time.perf_counter() - t) * 1e3
out["lines"] = con.execute("SELECT count(*) FROM e").fetchone()[0]
con.close()
run_id = os.path.basename(os.path.dirname(events))
rates = []
for chunk in chunks:
    data = open(chunk, "rb").read()
    points = data.count(b'"metrics"') * 4
    with open(events, "ab") as f:
        f.write(data)
    t = time.perf_counter()
    s.ingest([run_id])
    rates.append(points / (time.perf_counter() - t))
# The first chunk pays one-time costs (the store imports pyarrow for a process that
# ingests again): shown apart; steady state is the median of the later chunks.
out["steady_first_points_per_s"] = rates[0] if rates else None
later = sorted(rates[1:])
out["steady_points_per_s"] = later[len(later) // 2] if later else None
s.close()
print(json.dumps(out))
"""

#: change_token of an unchanged store (after a first look), in microseconds.
TOKEN_CHILD = r"""
import json, statistics, sys, time
from trackrun.store import Store
s = Store(sys.argv[1])
t = time.perf_counter(); first = s.change_token(); cold = (time.perf_counter() - t) * 1e3
s.close()
times = []
for _ in range(200):
    t = time.perf_counter(); token = s.change_token(); times.append((time.perf_counter() - t) * 1e6)
assert token == first
print(json.dumps({"first_ms": cold, "unchanged_us": statistics.median(times), "p90_us": sorted(times)[180]}))
"""
