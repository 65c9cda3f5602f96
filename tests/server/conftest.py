"""A real in-process Jupyter server with the trackrun extension, as production configures it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def authorizer_class() -> Any:
    """The server's authorizer class (None: Jupyter's default); parametrize to swap it."""
    return None


@pytest.fixture
def jp_server_config(isolated_store: Path, authorizer_class: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        "jpserver_extensions": {"trackrun": True, "jupyter_server_terminals": False},
        "allow_unauthenticated_access": False,
    }
    if authorizer_class is not None:
        server["authorizer_class"] = authorizer_class
    return {
        "ServerApp": server,
        "TrackrunServer": {"store": str(isolated_store), "max_parallel": 2},
    }
