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

from fusion_search._errors import UserError
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
    """An export's provenance (.keras file, .fusion or .ensemble folder); None for an export made before it;
    UserError, naming the file and the problem, for one that cannot be read whole (predict would otherwise score
    without the classes and the positive class it records)."""
    path = Path(path)
    try:
        if path.is_file():
            with zipfile.ZipFile(path) as archive:
                if KERAS_ENTRY not in archive.namelist():
                    return None
                return _an_object(_json(archive.read(KERAS_ENTRY), KERAS_ENTRY), KERAS_ENTRY)
        for meta in ("ensemble.json", "design.json"):
            if (path / meta).is_file():
                info = _an_object(_json((path / meta).read_bytes(), meta), meta).get(KEY)
                return None if info is None else _an_object(info, meta, f"a {KEY} that is ")
    except (OSError, zipfile.BadZipFile) as error:
        raise UserError(f"cannot read what export {path} remembers: not a readable archive or folder "
                        f"({_one_line(error)})") from None
    except ValueError as error:  # _json's and _an_object's, already worded
        raise UserError(f"cannot read what export {path} remembers: {error}") from None
    return None


def _json(data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as error:  # (a JSONDecodeError and a UnicodeDecodeError are both ValueErrors)
        raise ValueError(f"{name} is not valid JSON ({_one_line(error)})") from None


def _an_object(value: Any, name: str, what: str = "") -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} holds {what}a {type(value).__name__}, not an object")
    return value


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:200] or type(error).__name__
