"""What an export remembers about the rows it was trained on, for `predict`: the label column, its positive
class and the classes merged into one (so `predict` needs no --positive or --merge-classes again), and a 32-bit hash of each training row's image path (so it can
warn that an AUC on those rows is in-sample).

It is plain JSON: the ``fusion_search.json`` entry of a .keras archive (Keras ignores entries it does not know),
the ``provenance`` key of a .fusion folder's design.json and of an .ensemble folder's ensemble.json.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from fusion_search.data import Manifest, ManifestSpec

KERAS_ENTRY = "fusion_search.json"
KEY = "provenance"


def provenance(manifest: Manifest, spec: ManifestSpec) -> dict[str, Any]:
    """The label column, its positive class and every class (label values as read, after merges), the merges,
    and the training rows' path hashes."""
    hashes = row_hashes(manifest.image_paths)
    merges = {"merge_classes": [list(group) for group in spec.merge_classes]} if spec.merge_classes else {}
    return {"label_column": spec.label_column, "positive": manifest.positive_class,
            "classes": [name for name, _ in manifest.classes], **merges, "training_rows": int(manifest.rows),
            "row_hashes": base64.b64encode(hashes.astype("<u4").tobytes()).decode("ascii")}


def row_hashes(paths) -> np.ndarray:
    """Sorted distinct CRC-32s of the rows' absolute image paths."""
    return np.unique(np.array([zlib.crc32(os.path.abspath(str(p)).encode("utf-8")) for p in paths], dtype=np.uint32))


def training_rows_among(info: dict | None, paths) -> int:
    """How many of these rows' image paths were training rows of the export (0 when it records none)."""
    if not info or "row_hashes" not in info:
        return 0
    known = np.frombuffer(base64.b64decode(info["row_hashes"]), dtype="<u4")
    mine = np.array([zlib.crc32(os.path.abspath(str(p)).encode("utf-8")) for p in paths], dtype=np.uint32)
    return int(np.isin(mine, known).sum())


def add_to_keras_file(path: Path, info: dict) -> None:
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(KERAS_ENTRY, json.dumps(info))


def read_provenance(path: Path) -> dict | None:
    """An export's provenance (.keras file, .fusion or .ensemble folder); None for an export made before it."""
    path = Path(path)
    try:
        if path.is_file():
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read(KERAS_ENTRY)) if KERAS_ENTRY in archive.namelist() else None
        for meta in ("ensemble.json", "design.json"):
            if (path / meta).is_file():
                return json.loads((path / meta).read_text(encoding="utf-8")).get(KEY)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return None
