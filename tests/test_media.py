"""Images and figures: log_image / log_figure inputs, PNG files and pixels, refusals, the index."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import trackrun
from trackrun.media import write_png
from trackrun.store import Store


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced PNG (grey, RGB, grey+alpha, RGBA, all five filters)
    into an (H, W, C) uint8 array: a reader independent of the writers under test."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0, (depth, interlace)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels).astype(np.uint8)


def media_events(run: trackrun.Run) -> list[dict[str, Any]]:
    run.flush()
    lines = run.paths.events.read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("type") == "media"]


GRADIENT = np.stack(
    [
        np.tile(np.arange(0, 250, 10, dtype=np.uint8), (7, 1)),
        np.full((7, 25), 7, dtype=np.uint8),
        np.tile(np.arange(7, dtype=np.uint8)[:, None] * 30, (1, 25)),
    ],
    axis=-1,
)  # 7 rows, 25 columns, RGB: every pixel different from its neighbours


@pytest.mark.parametrize(
    "kind",
    ["hwc-uint8", "chw-uint8", "hwc-float", "chw-float", "hw-uint8", "torch-chw", "torch-hwc"],
)
def test_log_image_writes_a_png_of_the_right_size_and_pixels(kind: str) -> None:
    expected = GRADIENT
    image: Any
    if kind == "hwc-uint8":
        image = GRADIENT
    elif kind == "chw-uint8":
        image = np.transpose(GRADIENT, (2, 0, 1)).copy()
    elif kind == "hwc-float":
        image = GRADIENT.astype(np.float32) / 255.0
    elif kind == "chw-float":
        image = np.transpose(GRADIENT, (2, 0, 1)).astype(np.float64) / 255.0
    elif kind == "hw-uint8":
        image = GRADIENT[:, :, 0]
        expected = GRADIENT[:, :, :1]
    elif kind == "torch-chw":
        image = torch.from_numpy(np.transpose(GRADIENT, (2, 0, 1)).copy()).float() / 255.0
    else:
        image = torch.from_numpy(GRADIENT.copy())
    with trackrun.start_run() as run:
        path = trackrun.log_image("samples", image, step=3)
        (event,) = media_events(run)
    assert path == run.dir / "media" / "samples" / "3.png"
    data = path.read_bytes()
    assert np.array_equal(decode_png(data), expected)
    assert event["key"] == "samples" and event["step"] == 3
    assert event["path"] == "media/samples/3.png"
    assert (event["width"], event["height"]) == (25, 7)
    assert event["sha256"] == hashlib.sha256(data).hexdigest()


def test_pil_image_is_stored_with_its_pixels() -> None:
    pil = pytest.importorskip("PIL.Image")  # PIL is optional: only when it is installed
    image = pil.fromarray(GRADIENT)
    with trackrun.start_run():
        path = trackrun.log_image("pil", image, step=0)
    assert np.array_equal(decode_png(path.read_bytes())[:, :, :3], GRADIENT)


def test_zlib_writer_without_pil_gives_a_valid_png() -> None:
    for channels in (1, 3, 4):
        pixels = np.random.default_rng(channels).integers(0, 256, (9, 13, channels), np.uint8)
        assert np.array_equal(decode_png(write_png(pixels)), pixels)


def test_matplotlib_figure_and_log_figure_keep_png_and_small_svg() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=50)
    fig.patch.set_facecolor((1.0, 0.0, 0.0))
    with trackrun.start_run() as run:
        png = trackrun.log_image("fig", fig)
        again = trackrun.log_figure("fig", fig)
        events = media_events(run)
    plt.close(fig)
    pixels = decode_png(png.read_bytes())
    assert pixels.shape[:2] == (50, 100)
    assert tuple(pixels[0, 0, :3]) == (255, 0, 0)  # the red background, really rendered
    assert [e["step"] for e in events] == [0, 1]  # default steps count per key
    assert "svg" not in events[0] and events[1]["svg"] == "media/fig/1.svg"
    assert again.with_suffix(".svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("key", "image", "needle"),
    [
        ("nan", np.full((4, 4), np.nan), "NaN"),
        ("range", np.full((4, 4), 2.0), "[0, 1]"),
        ("shape", np.zeros((5, 5, 5), np.uint8), "shape (5, 5, 5)"),
        ("shape", np.zeros((2, 3, 4, 5), np.uint8), "HW, HWC or CHW"),
        ("empty", np.zeros((0, 4), np.uint8), "1 to"),
        ("../escape", np.zeros((2, 2), np.uint8), "not allowed"),
        ("a/../b", np.zeros((2, 2), np.uint8), "not allowed"),
        ("/abs", np.zeros((2, 2), np.uint8), "not allowed"),
        (".hidden", np.zeros((2, 2), np.uint8), "not allowed"),
        ("text", "not an image", "cannot make an image"),
        ("bytes", b"GIF89a not a png", "not a PNG"),
    ],
)
def test_bad_images_and_keys_are_refused_and_write_nothing(
    key: str, image: Any, needle: str
) -> None:
    with trackrun.start_run() as run:
        with pytest.raises((ValueError, TypeError)) as info:
            trackrun.log_image(key, image, step=0)
        assert needle in str(info.value)
        assert media_events(run) == []
    assert not (run.dir / "media").exists()
    assert not list(run.dir.parent.parent.rglob("*.png"))


def test_two_keys_sharing_a_folder_are_refused() -> None:
    with trackrun.start_run() as run:
        trackrun.log_image("val/a", np.zeros((2, 2), np.uint8))
        with pytest.raises(ValueError, match="share the folder"):
            trackrun.log_image("val.a", np.ones((2, 2), np.uint8))
    assert len(media_events(run)) == 1


def test_media_are_in_the_index_and_a_relogged_step_keeps_the_newest(tmp_path: Path) -> None:
    with trackrun.start_run() as run:
        trackrun.log_image("b", np.zeros((3, 4), np.uint8), step=2)
        trackrun.log_image("a/x", np.zeros((5, 6, 3), np.uint8), step=0)
        trackrun.log_image("b", np.zeros((8, 9), np.uint8), step=2)  # replaces step 2
        trackrun.log_image("b", np.zeros((3, 4), np.uint8), step=7)
    store = Store(run.store_root, lease=0)
    try:
        assert store.media(run.run_id).to_dicts() == [
            {"key": "a/x", "step": 0, "path": "media/a.x/0.png", "width": 6, "height": 5},
            {"key": "b", "step": 2, "path": "media/b/2.png", "width": 9, "height": 8},
            {"key": "b", "step": 7, "path": "media/b/7.png", "width": 4, "height": 3},
        ]
        # The index is only a copy: rebuilt from the run folders, it holds the same rows.
        before = store.media(run.run_id).to_dicts()
        store.reindex()
        assert store.media(run.run_id).to_dicts() == before
    finally:
        store.close()
