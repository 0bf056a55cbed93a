"""Decode and resize images once, into one uint8 array (n, size, size, 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from fusion_search._errors import UserError


def decode_images(paths: tuple[Path, ...], size: int) -> np.ndarray:
    """All images as RGB uint8 resized to size x size; UserError naming every bad row."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    bad: list[str] = []
    for index, path in enumerate(paths):
        try:
            images[index] = _decode(path, size)
        except (OSError, UnidentifiedImageError, ValueError) as error:
            reason = "missing" if not Path(path).exists() else "unreadable"
            bad.append(f"row {index + 2} ({Path(path).name}: {reason})")
            del error
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UserError(f"{len(bad)} image(s) missing or unreadable: {shown}")
    return images


def _decode(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)
