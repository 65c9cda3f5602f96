"""The media routes: the list of a run's images, and each PNG with its content type, served
only from inside the real run folder (the path checks of every served file)."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trackrun
from tests.server.common import check_answer, get
from tests.server.test_served_files import SECRET, assert_refused, outside  # noqa: F401
from tests.test_media import decode_png


def make_media_run() -> tuple[str, np.ndarray]:
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 2
    with trackrun.start_run(name="imgs") as run:
        trackrun.log_image("val/samples", pixels, step=0)
        trackrun.log_image("val/samples", pixels[::-1].copy(), step=10)
        trackrun.log_image("mask", pixels[:, :, 0].copy(), step=3)
    return run.run_id, pixels


async def fetch_png(jp_fetch: Any, url: str) -> Any:
    return await jp_fetch("trackrun", "api", *url.split("/"), raise_error=False)


async def test_media_list_and_pngs_are_served_with_their_content_type(jp_fetch: Any) -> None:
    run_id, pixels = make_media_run()
    listed = await get(jp_fetch, f"runs/{run_id}/media")
    assert listed["run_id"] == run_id
    assert [(m["key"], m["step"], m["width"], m["height"]) for m in listed["media"]] == [
        ("mask", 3, 6, 4),
        ("val/samples", 0, 6, 4),
        ("val/samples", 10, 6, 4),
    ]
    assert listed["media"][1]["url"] == f"runs/{run_id}/media/val.samples/0.png"
    for item, expected in zip(
        listed["media"], (pixels[:, :, :1], pixels, pixels[::-1]), strict=True
    ):
        response = await fetch_png(jp_fetch, item["url"])
        assert response.code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        check_answer("runs/{run_id}/media/{key}/{step}.png", "get", response)
        assert np.array_equal(decode_png(response.body), expected)


async def test_a_run_without_media_lists_none_and_an_unknown_run_is_404(jp_fetch: Any) -> None:
    with trackrun.start_run() as run:
        trackrun.log(loss=1.0)
    assert (await get(jp_fetch, f"runs/{run.run_id}/media"))["media"] == []
    missing = await jp_fetch(
        "trackrun", "api", "runs", "20261126-000009-abcdef", "media", raise_error=False
    )
    assert missing.code == 404


async def test_symlinked_media_folder_is_refused(
    jp_fetch: Any,
    isolated_store: Path,
    outside: Path,  # noqa: F811
) -> None:
    run_id, _ = make_media_run()
    media = isolated_store / "runs" / run_id / "media"
    os.rename(media, media.with_name("media.real"))
    (outside / "val.samples").mkdir()
    (outside / "val.samples" / "0.png").write_bytes(SECRET)
    media.symlink_to(outside, target_is_directory=True)
    assert_refused(await fetch_png(jp_fetch, f"runs/{run_id}/media/val.samples/0.png"))


async def test_symlinked_key_folder_and_png_are_refused(
    jp_fetch: Any,
    isolated_store: Path,
    outside: Path,  # noqa: F811
) -> None:
    run_id, _ = make_media_run()
    media = isolated_store / "runs" / run_id / "media"
    (outside / "9.png").write_bytes(SECRET)
    (media / "planted").symlink_to(outside, target_is_directory=True)
    (media / "mask" / "7.png").symlink_to(outside / "9.png")
    assert_refused(await fetch_png(jp_fetch, f"runs/{run_id}/media/planted/9.png"))
    assert_refused(await fetch_png(jp_fetch, f"runs/{run_id}/media/mask/7.png"))
    ok = await fetch_png(jp_fetch, f"runs/{run_id}/media/mask/3.png")
    assert ok.code == 200


@pytest.mark.parametrize(
    "key", ["..", "%2e%2e", "..%2F..%2Fcode", ".hidden", "%2Fetc", "mask%2F..%2F.."]
)
async def test_traversal_in_media_paths_is_refused(jp_fetch: Any, key: str) -> None:
    run_id, _ = make_media_run()
    response = await fetch_png(jp_fetch, f"runs/{run_id}/media/{urllib.parse.unquote(key)}/3.png")
    assert response.code in (400, 403, 404), response.code
    assert not response.body.startswith(b"\x89PNG")
