"""Manifest CSV -> validated table of labels, numeric features, groups and image paths."""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search._errors import UserError


@dataclass(frozen=True)
class ManifestSpec:
    """How to read a manifest CSV: which column is what."""

    path: Path
    image_column: str = "image"
    label_column: str = "label"
    numeric_columns: tuple[str, ...] | None = None  # None: every column not named otherwise
    group_column: str | None = None
    positive: str | None = None  # label value of the positive class; None: "1" of 0/1 labels


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: one row per sample, images not yet decoded."""

    image_paths: tuple[Path, ...]
    labels: np.ndarray  # int8, 1 = positive
    numeric: np.ndarray  # float32 (n, p), NaN where missing
    numeric_columns: tuple[str, ...]
    groups: np.ndarray | None
    fingerprint: str = field(default="")

    @property
    def rows(self) -> int:
        return len(self.labels)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())


def read_manifest(spec: ManifestSpec) -> Manifest:
    """Read and validate the manifest; raise UserError naming the first problem found."""
    header, rows = _read_csv(spec.path)
    _require_columns(spec, header)
    numeric_columns = _numeric_columns(spec, header)
    labels = _labels(spec, [r[spec.label_column] for r in rows])
    numeric = _numeric_matrix(rows, numeric_columns)
    groups = np.array([r[spec.group_column] for r in rows]) if spec.group_column else None
    paths = _image_paths(spec, rows)
    manifest = Manifest(paths, labels, numeric, numeric_columns, groups)
    return Manifest(**{**manifest.__dict__, "fingerprint": _fingerprint(manifest)})


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"manifest not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [dict(row) for row in reader]
            header = list(reader.fieldnames or [])
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"manifest {path} is not a readable CSV file: {error}") from None
    if not header or not rows:
        raise UserError(f"manifest {path} has no rows")
    return header, rows


def _require_columns(spec: ManifestSpec, header: list[str]) -> None:
    named = {"--image-column": spec.image_column, "--label-column": spec.label_column}
    if spec.group_column:
        named["--group-column"] = spec.group_column
    for flag, column in named.items():
        if column not in header:
            raise UserError(
                f"manifest {spec.path} has no column '{column}' ({flag}); columns are: {', '.join(header)}"
            )


def _numeric_columns(spec: ManifestSpec, header: list[str]) -> tuple[str, ...]:
    if spec.numeric_columns is not None:
        missing = [c for c in spec.numeric_columns if c not in header]
        if missing:
            raise UserError(f"manifest {spec.path} has no numeric column(s): {', '.join(missing)}")
        return tuple(spec.numeric_columns)
    reserved = {spec.image_column, spec.label_column, spec.group_column}
    columns = tuple(c for c in header if c not in reserved)
    if not columns:
        raise UserError(f"manifest {spec.path} has no numeric columns besides image and label")
    return columns


def _labels(spec: ManifestSpec, values: list[str]) -> np.ndarray:
    values = [v.strip() for v in values]
    distinct = sorted(set(values))
    if "" in distinct:
        row = values.index("") + 2
        raise UserError(f"label column '{spec.label_column}' is empty on row {row}")
    if len(distinct) != 2:
        shown = ", ".join(distinct[:5]) + (" ..." if len(distinct) > 5 else "")
        raise UserError(
            f"label column '{spec.label_column}' must have exactly two distinct values, found {len(distinct)}: {shown}"
        )
    positive = spec.positive if spec.positive is not None else _default_positive(spec, distinct)
    if positive not in distinct:
        raise UserError(f"--positive {positive!r} is not a value of label column '{spec.label_column}' ({', '.join(distinct)})")
    return np.array([v == positive for v in values], dtype=np.int8)


def _default_positive(spec: ManifestSpec, distinct: list[str]) -> str:
    for zero, one in (("0", "1"), ("0.0", "1.0"), ("False", "True"), ("false", "true")):
        if distinct == sorted([zero, one]):
            return one
    raise UserError(
        f"label column '{spec.label_column}' has values {distinct[0]!r} and {distinct[1]!r}: "
        "say which is the positive class with --positive VALUE"
    )


def _numeric_matrix(rows: list[dict[str, str]], columns: tuple[str, ...]) -> np.ndarray:
    matrix = np.empty((len(rows), len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        for i, row in enumerate(rows):
            matrix[i, j] = _parse_number(row[column], column, i)
    return matrix


def _parse_number(text: str | None, column: str, index: int) -> float:
    text = (text or "").strip()
    if text == "" or text.lower() in {"nan", "na", "null"}:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"numeric column '{column}' has a non-numeric value {text!r} on row {index + 2}") from None
    if math.isinf(value):
        raise UserError(f"numeric column '{column}' has an infinite value on row {index + 2}")
    return value


def _image_paths(spec: ManifestSpec, rows: list[dict[str, str]]) -> tuple[Path, ...]:
    base = Path(spec.path).resolve().parent
    paths = []
    for row in rows:
        raw = (row[spec.image_column] or "").strip()
        path = Path(raw)
        paths.append(path if path.is_absolute() else base / path)
    return tuple(paths)


def _fingerprint(manifest: Manifest) -> str:
    """A content hash of labels, numbers, groups and image bytes: the data's identity."""
    digest = hashlib.sha256()
    digest.update(manifest.labels.tobytes())
    digest.update(np.nan_to_num(manifest.numeric, nan=-1.2345e30).tobytes())
    digest.update("\x1f".join(manifest.numeric_columns).encode())
    if manifest.groups is not None:
        digest.update("\x1f".join(map(str, manifest.groups)).encode())
    for path in manifest.image_paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()[:16]
