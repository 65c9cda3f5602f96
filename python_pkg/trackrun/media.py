"""A run's images and figures: validated, encoded as PNG under ``media/KEY/STEP.png``, indexed by an event.

Inputs are PIL images, numpy arrays (HW, HWC or CHW; uint8, or floats in [0, 1]), torch
tensors, matplotlib figures, or PNG bytes. PIL and matplotlib are imported only when the
input is one of theirs (or to encode, when PIL is there); without PIL, arrays are encoded
by the small zlib PNG writer below (matplotlib cannot help then: it writes PNG through PIL).
Everything is checked before anything is written, so a refused image leaves no file and no
event.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trackrun.layout import RunPaths, file_mode_in, is_group_shared, make_dir
from trackrun.values import check_step

#: The folder of a run that holds its media.
MEDIA_FOLDER = "media"
#: Largest side of an image, in pixels (a bigger one is almost always a wrong axis).
MAX_SIDE = 16384
#: A figure's SVG is kept beside its PNG when it is at most this many bytes.
MAX_SVG_BYTES = 512 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,@-]*$")
_MAX_KEY = 200


def media_folder(key: Any) -> str:
    """The folder name under ``media/`` of the media key ``key``.

    A key is one or more segments joined by ``/`` (e.g. ``val/samples``); each segment starts
    with a letter or digit and holds letters, digits and ``. _ - + = , @``. The folder name is
    the key with ``/`` written as ``.``, so it can never leave ``media/``. Raises TypeError for
    a key that is not a string, ValueError (naming the fix) for any other key.
    """
    if not isinstance(key, str):
        raise TypeError(f"trackrun.log_image: the key must be a string, not {key!r}")
    segments = key.split("/")
    if (
        not key
        or len(key) > _MAX_KEY
        or ".." in key
        or not all(_SEGMENT.match(s) and not s.endswith(".") for s in segments)
    ):
        raise ValueError(
            f"trackrun.log_image: media key {key!r} is not allowed; use letters, digits and "
            "`. _ - + = , @`, with `/` between parts (e.g. 'val/samples'), no '..', no part "
            "starting with a dot, at most 200 characters"
        )
    return ".".join(segments)


def media_path(key: str, step: int) -> str:
    """The path, relative to the run folder, of the PNG of ``key`` at ``step``."""
    return f"{MEDIA_FOLDER}/{media_folder(key)}/{step}.png"


class MediaLog:
    """Writes the media of one run: files under ``media/``, one ``media`` event each.

    ``emit(event_type, **fields)`` queues an event in the run's events file.
    """

    def __init__(self, paths: RunPaths, emit: Callable[..., None]) -> None:
        self.paths = paths
        self._emit = emit
        self._next_step: dict[str, int] = {}
        self._key_of_folder: dict[str, str] = {}

    def log(self, key: str, image: Any, step: int | None = None, keep_svg: bool = False) -> Path:
        """Store ``image`` as the PNG of ``key`` at ``step`` (None: the key's next step,
        from 0) and record it; returns the PNG's path. ``keep_svg``: also keep a figure's
        SVG when it is small (``MAX_SVG_BYTES``).

        Raises TypeError for an input of another kind, ValueError for a bad key, step, shape
        or value (NaN, floats outside [0, 1]...), naming the fix; nothing is written then.
        """
        folder = media_folder(key)
        owner = self._key_of_folder.get(folder)
        if owner is not None and owner != key:
            raise ValueError(
                f"trackrun.log_image: keys {owner!r} and {key!r} would share the folder "
                f"media/{folder}/ of this run; give one of them another name"
            )
        step = self._next_step.get(key, 0) if step is None else check_step(step)
        png, width, height = encode_png(image)
        svg = figure_svg(image) if keep_svg and _is_figure(image) else None
        base = self.paths.root / MEDIA_FOLDER
        shared = is_group_shared(self.paths.root)
        make_dir(base, private=not shared, exist_ok=True)
        make_dir(base / folder, private=not shared, exist_ok=True)
        target = base / folder / f"{step}.png"
        _write_atomic(target, png)
        fields: dict[str, Any] = {
            "key": key,
            "step": step,
            "path": f"{MEDIA_FOLDER}/{folder}/{step}.png",
            "width": width,
            "height": height,
            "sha256": hashlib.sha256(png).hexdigest(),
        }
        if svg is not None:
            _write_atomic(target.with_suffix(".svg"), svg)
            fields["svg"] = f"{MEDIA_FOLDER}/{folder}/{step}.svg"
        self._key_of_folder[folder] = key
        self._next_step[key] = max(self._next_step.get(key, 0), step + 1)
        self._emit("media", **fields)
        return target


# -- turning inputs into PNG ------------------------------------------------------------------
def encode_png(image: Any) -> tuple[bytes, int, int]:
    """``image`` as PNG bytes, with its width and height; see MediaLog.log for the inputs
    and errors."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        width, height = png_size(data)
        return data, width, height
    if _is_figure(image):
        buffer = io.BytesIO()
        image.savefig(buffer, format="png")
        data = buffer.getvalue()
        width, height = png_size(data)
        return data, width, height
    module = type(image).__module__ or ""
    if module.startswith("PIL."):
        return _encode_pil(image)
    pixels = to_pixels(image)
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    pil = _pil_image_module()
    if pil is not None:
        buffer = io.BytesIO()
        squeezed = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
        pil.fromarray(squeezed).save(buffer, format="png")
        return buffer.getvalue(), width, height
    return write_png(pixels), width, height


def to_pixels(image: Any) -> Any:
    """``image`` (numpy array or torch tensor) as a uint8 numpy array of shape (H, W, C),
    C in 1 (grey), 3 (RGB) or 4 (RGBA). Raises TypeError or ValueError (see MediaLog.log)."""
    import numpy as np

    what = f"{type(image).__module__}.{type(image).__qualname__}"
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # a torch tensor, on any device
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"trackrun.log_image: cannot make an image of a {what}; pass a PIL image, a numpy "
            "array or torch tensor (HW, HWC or CHW), a matplotlib figure or PNG bytes"
        )
    array = image
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim == 3 and array.shape[2] not in (1, 3, 4) and array.shape[0] in (1, 3, 4):
        array = np.transpose(array, (1, 2, 0))  # CHW, as torch lays images out
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"trackrun.log_image: an image array has shape HW, HWC or CHW with 1, 3 or 4 "
            f"channels; this one has shape {tuple(image.shape)}"
        )
    height, width = array.shape[0], array.shape[1]
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ValueError(
            f"trackrun.log_image: image of {width}x{height} pixels; each side must be "
            f"1 to {MAX_SIDE}"
        )
    kind = array.dtype.kind
    if kind == "b":
        return np.ascontiguousarray(array, dtype=np.uint8) * 255
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(
                "trackrun.log_image: the float image holds NaN or infinite values; replace "
                "them (e.g. np.nan_to_num) before logging"
            )
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"trackrun.log_image: float images must be in [0, 1]; this one spans "
                f"[{low:.4g}, {high:.4g}]: scale it (or pass uint8 in 0..255)"
            )
        return np.ascontiguousarray(np.rint(array * 255.0), dtype=np.uint8)
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"trackrun.log_image: integer images must be in 0..255; this one spans "
                f"{low}..{high}: scale it or cast it to uint8"
            )
        return np.ascontiguousarray(array, dtype=np.uint8)
    raise TypeError(
        f"trackrun.log_image: images of dtype {array.dtype} are not supported; use uint8, "
        "bool, or floats in [0, 1]"
    )


def write_png(pixels: Any) -> bytes:
    """PNG bytes of a uint8 (H, W, C) array (C in 1, 3, 4), with zlib only (no filters)."""
    import numpy as np

    height, width, channels = pixels.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)  # filter byte 0 per row
    rows[:, 1:] = pixels.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of PNG ``data``; ValueError when it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("trackrun.log_image: these bytes are not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"trackrun.log_image: PNG of {width}x{height} pixels is out of range")
    return int(width), int(height)


def figure_svg(figure: Any) -> bytes | None:
    """The figure as SVG, or None when that is larger than MAX_SVG_BYTES (many points)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    data = buffer.getvalue()
    return data if len(data) <= MAX_SVG_BYTES else None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _encode_pil(image: Any) -> tuple[bytes, int, int]:
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    width, height = image.size
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"trackrun.log_image: image of {width}x{height} pixels is out of range")
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue(), int(width), int(height)


def _is_figure(value: Any) -> bool:
    """A matplotlib Figure (recognised without importing matplotlib)."""
    return any(
        c.__module__ == "matplotlib.figure" and c.__name__ == "Figure" for c in type(value).__mro__
    )


def _pil_image_module() -> Any:
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` at ``target`` through a temporary name (never a half file)."""
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode_in(target.parent))
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
