"""A real in-process Jupyter server with the trackrun extension, as production configures it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def jp_server_config(isolated_store: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"trackrun": True},
            "allow_unauthenticated_access": False,
        },
        "TrackrunServer": {"store": str(isolated_store), "max_parallel": 2},
    }
