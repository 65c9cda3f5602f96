"""The run store: layout, DuckDB index, ingestion, queries, filters and gc."""

from trackrun.store.store import Store

__all__ = ["Store"]
