"""The DuckDB index schema: tables filled by ingestion from run directories.

No PRIMARY KEY constraints: ingestion replaces rows by delete-then-insert inside one
transaction, which DuckDB's unique indexes reject; uniqueness is ingestion's job.

Times are UNIX epoch seconds (DOUBLE) so that filters and clients need no time zones.
"""

from __future__ import annotations

#: Bump when the schema changes; an index with another version is rebuilt from the run dirs.
SCHEMA_VERSION = 3

#: The columns of ``runs``, in order, with their DuckDB types: the one list every module
#: that reads or writes run rows derives its columns from.
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("status", "VARCHAR"),
    ("status_at", "DOUBLE"),
    ("notebook", "VARCHAR"),
    ("cell_id", "VARCHAR"),
    ("note", "VARCHAR"),
    ("host", "VARCHAR"),
    ("user", "VARCHAR"),
    ("pid", "BIGINT"),
    ("proc_start", "VARCHAR"),
    ("git_commit", "VARCHAR"),
    ("git_branch", "VARCHAR"),
    ("git_dirty", "BOOLEAN"),
    ("detached", "BOOLEAN"),
    ("created_at", "DOUBLE"),
    ("started_at", "DOUBLE"),
    ("ended_at", "DOUBLE"),
    ("duration", "DOUBLE"),
    ("last_event_at", "DOUBLE"),
    ("attempts", "BIGINT"),
    ("error", "VARCHAR"),
)
RUN_FIELDS: tuple[str, ...] = tuple(name for name, _ in RUN_COLUMNS)
#: The runs columns of a listing (trackrun ls, trackrun.runs(), the panel), in this order.
LIST_COLUMNS: tuple[str, ...] = tuple(
    RUN_FIELDS[RUN_FIELDS.index(name)]  # a name missing from RUN_COLUMNS fails at import
    for name in (
        "run_id",
        "name",
        "status",
        "notebook",
        "note",
        "started_at",
        "ended_at",
        "duration",
        "attempts",
        "git_commit",
        "detached",
    )
)

_RUNS_TABLE = "CREATE TABLE IF NOT EXISTS runs (\n{}\n);\n".format(
    ",\n".join(f'    "{name}" {kind}' for name, kind in RUN_COLUMNS)
)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
{runs_table}CREATE TABLE IF NOT EXISTS params (
    run_id VARCHAR,
    key VARCHAR,
    value_json VARCHAR,
    value_num DOUBLE,
    value_str VARCHAR
);
CREATE TABLE IF NOT EXISTS tags (run_id VARCHAR, tag VARCHAR);
CREATE TABLE IF NOT EXISTS metrics (
    run_id VARCHAR,
    key VARCHAR,
    step BIGINT,
    value DOUBLE,
    wall_time DOUBLE
);
CREATE TABLE IF NOT EXISTS metric_summary (
    run_id VARCHAR,
    key VARCHAR,
    last DOUBLE,
    min DOUBLE,
    max DOUBLE,
    count BIGINT,
    last_step BIGINT
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id VARCHAR,
    name VARCHAR,
    size BIGINT,
    sha256 VARCHAR,
    logged_at DOUBLE
);
-- Images and figures: one row per (run, key, step), the newest logged one.
CREATE TABLE IF NOT EXISTS media (
    run_id VARCHAR,
    key VARCHAR,
    step BIGINT,
    path VARCHAR,
    width BIGINT,
    height BIGINT
);
CREATE TABLE IF NOT EXISTS ingest_offsets (
    run_id VARCHAR,
    file VARCHAR,
    byte_offset BIGINT,
    last_seq BIGINT
);
-- Event lines ingestion could not apply (broken JSON, a step out of range, a value that is
-- not a number...): kept here, raw, so that nothing is dropped silently.
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR,
    file VARCHAR,
    byte_offset BIGINT,
    seq BIGINT,
    reason VARCHAR,
    line VARCHAR,
    found_at DOUBLE
);
""".replace("{runs_table}", _RUNS_TABLE)
