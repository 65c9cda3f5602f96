"""Artifacts are served with the content type of what they hold, so the panel can preview
text, CSV, JSON and images, and a compressed file is never labelled as its inner type."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

import trackrun

FILES: dict[str, bytes] = {
    "table.csv": b"epoch,acc\n0,0.5\n1,0.75\n",
    "metrics.json": b'{"acc": 0.75}',
    "notes.txt": b"plain words\n",
    "plot.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 16,
    "table.csv.gz": gzip.compress(b"epoch,acc\n0,0.5\n"),
    "bundle.tar.bz2": b"BZh9" + b"\0" * 8,
    "weights.bin": b"\1\2\3",
}


@pytest.fixture
def artifact_run(tmp_path: Path) -> str:
    with trackrun.start_run(name="files") as run:
        for name, data in FILES.items():
            path = tmp_path / name
            path.write_bytes(data)
            trackrun.artifact(path)
    return run.run_id


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("table.csv", "text/csv"),
        ("metrics.json", "application/json"),
        ("notes.txt", "text/plain"),
        ("plot.png", "image/png"),
        # mimetypes says ("text/csv", "gzip"): the bytes are gzip, not CSV.
        ("table.csv.gz", "application/gzip"),
        ("bundle.tar.bz2", "application/x-bzip2"),
        ("weights.bin", "application/octet-stream"),
    ],
)
async def test_artifacts_have_the_content_type_of_their_bytes(
    jp_fetch: Any, artifact_run: str, name: str, content_type: str
) -> None:
    response = await jp_fetch("trackrun", "api", "runs", artifact_run, "artifacts", name)
    assert response.code == 200 and response.body == FILES[name]
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Never decoded on the way by the browser (no Content-Encoding), always a download.
    assert "Content-Encoding" not in response.headers
    assert "attachment" in response.headers["Content-Disposition"]
