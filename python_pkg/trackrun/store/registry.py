"""The store registry: one Store per store folder in this process, shared by every caller.

The public API and the analysis modules (comparison, code diffs) all find their Store here,
so that analysis does not import the API (which imports analysis). Importing this module is
light: the Store (and DuckDB) is imported on the first call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from trackrun.layout import default_store_root

if TYPE_CHECKING:
    from trackrun.store.store import Store

#: Store root -> the Store every caller in this process shares.
stores: dict[Path, Store] = {}


def get_store(store: str | os.PathLike[str] | Store | None = None) -> Store:
    """The Store at ``store`` (the default store when None), shared within this process; a
    Store passed in is returned as is."""
    from trackrun.store.store import Store

    if isinstance(store, Store):
        return store
    root = Path(store).expanduser().resolve() if store else default_store_root()
    found = stores.get(root)
    if found is None:
        found = stores[root] = Store(root)
    return found
