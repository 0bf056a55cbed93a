"""Decode and resize images once, into one uint8 array (n, size, size, 3), whole or chunk by chunk.

Whatever a clinic or a shop produces arrives as 8-bit RGB, upright:
- EXIF orientation is applied (phone photos are stored sideways with a tag saying so);
- 16-bit images are scaled by their format's range (0..65535 -> 0..255), so a brighter scan stays brighter
  than a darker one; float and 32-bit integer images have no fixed range and are stretched per image
  (their minimum -> 0, maximum -> 255);
- transparency (RGBA, LA, palette with a transparent colour) is composited on white;
- palette, grayscale, black-and-white and CMYK images are converted to RGB.
A missing, unreadable, truncated or oversized (decompression-bomb) file is a UserError naming its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fusion_search._errors import UserError
from fusion_search.storage import chunk_rows

BACKGROUND = (255, 255, 255)  # what transparent pixels become
SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}


def decode_images(paths: tuple[Path, ...], size: int) -> np.ndarray:
    """All images as RGB uint8 resized to size x size, in memory; UserError naming every bad row."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    start = 0
    for chunk in image_chunks(paths, size):
        images[start:start + len(chunk)] = chunk
        start += len(chunk)
    return images


def image_chunks(paths: tuple[Path, ...], size: int, rows: int | None = None) -> Iterator[np.ndarray]:
    """The images decoded as decode_images does, ``rows`` at a time (default: about CHUNK_BYTES per chunk), so
    that a cache can be filled without all of them in memory. After the last chunk, a UserError naming every
    bad row (their rows in the chunks are black), so nothing built from the chunks is kept."""
    rows = rows or chunk_rows(size * size * 3)
    bad: list[str] = []
    for start in range(0, len(paths), rows):
        chunk = np.zeros((min(rows, len(paths) - start), size, size, 3), dtype=np.uint8)
        for offset, path in enumerate(paths[start:start + len(chunk)]):
            try:
                chunk[offset] = decode_image(path, size)
            except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
                bad.append(f"row {start + offset + 2} ({Path(path).name}: {_reason(path, error)})")
        yield chunk
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UserError(f"{len(bad)} image(s) missing or unreadable: {shown}")


def decode_image(path: Path, size: int) -> np.ndarray:
    """One image as upright RGB uint8, size x size."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        rgb = Image.fromarray(_rgb(image))
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)


def _rgb(image: Image.Image) -> np.ndarray:
    """(h, w, 3) uint8 of any mode."""
    if image.mode in SIXTEEN_BIT:
        return _gray_to_rgb(np.asarray(image, dtype=np.float64) / 65535.0)
    if image.mode in {"I", "F"}:
        values = np.asarray(image, dtype=np.float64)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        return _gray_to_rgb((values - low) / (high - low) if high > low else np.zeros_like(values))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        background = Image.new("RGB", image.size, BACKGROUND)
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return np.asarray(background, dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _gray_to_rgb(unit: np.ndarray) -> np.ndarray:
    gray = np.clip(np.rint(np.nan_to_num(unit) * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


def _reason(path: Path, error: BaseException) -> str:
    if not Path(path).exists():
        return "missing"
    if isinstance(error, Image.DecompressionBombError):
        return "too large to decode safely"
    if any(word in str(error).lower() for word in ("truncated", "broken data stream")):
        return "truncated"
    if isinstance(error, UnidentifiedImageError):
        return "not an image"
    return "unreadable"
