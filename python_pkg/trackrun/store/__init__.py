"""The run store: layout, DuckDB index, ingestion, queries, filters and gc.

``Store`` is imported on first use (PEP 562), so that importing a light module of this
package (the registry) never imports DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackrun.store.store import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from trackrun.store.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
