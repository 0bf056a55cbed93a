"""A table of samples -> validated labels, numeric features, groups and image paths."""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fusion_search._errors import UserError
from fusion_search.data._columns import cell_text, feature_columns, is_blank
from fusion_search.data._fingerprint import images_fingerprint
from fusion_search.data._labels import apply_merges, class_counts, class_labels
from fusion_search.data._preprocess import MAX_LEVELS
from fusion_search.data._table import Table, read_table


@dataclass(frozen=True)
class ManifestSpec:
    """Which column of the table is what."""

    image_column: str = "image"
    label_column: str = "label"
    numeric_columns: tuple[str, ...] | None = None  # given: the features are these and categorical_columns
    group_column: str | None = None
    positive: str | None = None  # label value of the positive class (against the rest); None: "1" of 0/1 labels
    categorical_columns: tuple[str, ...] | None = None  # always categorical (e.g. clinic codes 1, 2, 3)
    ignore_columns: tuple[str, ...] = ()  # never features
    merge_classes: tuple[tuple[str, ...], ...] = ()  # each group of label values becomes one class, "a+b"


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: one row per sample, images not yet decoded."""

    image_paths: tuple[Path, ...]
    labels: np.ndarray  # int8: 1 = positive (two classes), or the index of its class in `classes` (K >= 3)
    numeric: np.ndarray  # float32 (n, p), NaN where missing
    numeric_columns: tuple[str, ...]
    groups: np.ndarray | None
    categorical: np.ndarray | None = None  # object (n, c) of strings, "" where blank; None: no such column
    categorical_columns: tuple[str, ...] = ()
    fingerprint: str = field(default="")
    classes: tuple[tuple[str, int], ...] = ()  # (label value after merges, rows) per class, sorted
    positive_class: str = ""  # the label value that is 1; "" for K >= 3 classes

    @property
    def rows(self) -> int:
        return len(self.labels)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    @property
    def n_classes(self) -> int:
        """2 for a positive class against the rest, else K (the labels are 0..K-1)."""
        return 2 if self.positive_class or len(self.classes) <= 2 else len(self.classes)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The name of each label index: (the rest, the positive class) for two, else the sorted classes."""
        if self.n_classes > 2:
            return tuple(name for name, _ in self.classes)
        rest = [name for name, _ in self.classes if name != self.positive_class]
        return ("+".join(rest) if len(rest) == 1 else "rest", self.positive_class)

    @property
    def category_sizes(self) -> tuple[int, ...]:
        """Per categorical column, the most codes a training fold's encoder can give it (its levels + unknown)."""
        if self.categorical is None:
            return ()
        return tuple(min(len(set(column)), MAX_LEVELS) + 1 for column in self.categorical.T)


def read_manifest(data: Any, spec: ManifestSpec = ManifestSpec()) -> Manifest:
    """Read and validate a manifest (a CSV path, a pandas DataFrame or a Table); UserError naming the first problem."""
    table = data if isinstance(data, Table) else read_table(data)
    _require_columns(table, spec)
    columns = feature_columns(table, {spec.image_column, spec.label_column, spec.group_column}, spec.numeric_columns,
                              spec.categorical_columns, spec.ignore_columns)
    labels, classes, positive = _labels(spec, table.column(spec.label_column))
    numeric = numeric_matrix(table, columns.numeric)
    groups = np.array([cell_text(v) for v in table.column(spec.group_column)]) if spec.group_column else None
    paths = image_paths(table, spec.image_column)
    manifest = Manifest(paths, labels, numeric, columns.numeric, groups,
                        category_matrix(table, columns.categorical), columns.categorical, classes=classes,
                        positive_class=positive)
    return replace(manifest, fingerprint=_fingerprint(manifest))


def _require_columns(table: Table, spec: ManifestSpec) -> None:
    named = {"--image-column": spec.image_column, "--label-column": spec.label_column}
    if spec.group_column:
        named["--group-column"] = spec.group_column
    for flag, column in named.items():
        if column not in table.columns:
            raise UserError(f"{table.source} has no column '{column}' ({flag}); "
                            f"columns are: {', '.join(table.header)}{_separator_hint(table)}")


def _separator_hint(table: Table) -> str:
    """A header read with the wrong separator (a ';' file whose header also holds a comma) shows it in its names."""
    for separator, name in ((";", ";"), ("\t", "tab")):
        if any(separator in column for column in table.header):
            return f" (the file looks {name}-separated: write it with commas)"
    return ""


def _labels(spec: ManifestSpec, column) -> tuple[np.ndarray, tuple[tuple[str, int], ...], str]:
    """(labels, (class, rows) of every class after merges, the positive class: "" for K >= 3 classes)."""
    values = [cell_text(v) for v in column]
    if "" in values:
        raise UserError(f"label column '{spec.label_column}' is empty on row {values.index('') + 2}")
    values = apply_merges(values, spec.merge_classes, spec.label_column)
    positive = cell_text(spec.positive) if spec.positive is not None else None
    labels, positive = class_labels(values, positive, spec.label_column)
    return labels, tuple(class_counts(values)), positive


NOT_A_NUMBER_FIX = "a categorical column? name it with --categorical-columns"  # (a study's own manifest)


def numeric_matrix(table: Table, columns: tuple[str, ...], fix: str = NOT_A_NUMBER_FIX) -> np.ndarray:
    """The columns as float32 (n, p), NaN where empty; UserError naming the first bad cell, and ``fix``, what the
    user can do about it with the command at hand."""
    matrix = np.empty((table.rows, len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        for i, value in enumerate(table.column(column)):
            matrix[i, j] = parse_number(value, column, i, fix)
    return matrix


def category_matrix(table: Table, columns: tuple[str, ...]) -> np.ndarray | None:
    """The categorical columns as strings, (n, c) objects, "" where blank; None without such columns."""
    if not columns:
        return None
    return np.array([[cell_text(v) for v in table.column(c)] for c in columns], dtype=object).T.copy()


def parse_number(value: Any, column: str, index: int, fix: str = NOT_A_NUMBER_FIX) -> float:
    """One numeric cell: empty, NaN, NA and null are missing (NaN); text that is not a number is an error."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    else:
        text = "" if value is None else str(value).strip()
        try:
            number = float(text)  # (NaN, written as text, is missing too)
        except ValueError:
            if is_blank(value):
                return math.nan
            raise UserError(f"numeric column '{column}' has a non-numeric value {text!r} on row {index + 2} "
                            f"({fix})") from None
    if math.isinf(number):
        raise UserError(f"numeric column '{column}' has an infinite value on row {index + 2}")
    return number


def image_paths(table: Table, column: str) -> tuple[Path, ...]:
    """Each row's image path; relative paths start at the table's base folder."""
    if column not in table.columns:
        raise UserError(f"{table.source} has no image column '{column}' (--image-column); "
                        f"columns are: {', '.join(table.header)}")
    paths = []
    for value in table.column(column):
        path = Path("" if value is None else str(value).strip())  # as written: not a number's canonical text
        paths.append(path if path.is_absolute() else table.base / path)
    return tuple(paths)


def _fingerprint(manifest: Manifest) -> str:
    """A content hash of labels, numbers, groups and image bytes: the data's identity (_fingerprint.py)."""
    digest = hashlib.sha256()
    digest.update(manifest.labels.tobytes())
    digest.update(np.nan_to_num(manifest.numeric, nan=-1.2345e30).tobytes())
    digest.update("\x1f".join(manifest.numeric_columns).encode())
    if manifest.groups is not None:
        digest.update("\x1f".join(map(str, manifest.groups)).encode())
    if manifest.categorical is not None:  # (a study without categorical columns keeps its fingerprint)
        digest.update("\x1e".join(manifest.categorical_columns).encode())
        digest.update("\x1f".join(manifest.categorical.ravel()).encode())
    return images_fingerprint(digest, manifest.image_paths)  # each image's bytes, read only when changed
