"""Which columns of a table are features, and of which kind: numeric (numbers, blanks missing) or categorical
(strings such as sex, site or device; a blank is a category of its own).

A column the user names with --categorical-columns or --numeric-columns is that kind. Any other feature column
is numeric when most of its filled cells are numbers (a stray word there is then an error naming the cell:
usually a typo) and categorical otherwise. A column with a different value on almost every row is an identifier,
not a feature, and is refused: text, or whole numbers (a numeric patient_id sorted by class would score AUC 1.0);
a number the user names with --numeric-columns is kept.

Every cell is read through ``cell_text``, one canonical text form, so a category means the same whether the table
came from a CSV, from a DataFrame of any dtype, or is being scored by ``predict``: every missing marker (None, NaN,
pandas.NA, NaT, and the texts pandas reads as missing: NA, N/A, NaN, null, None, <NA>) is blank, and a number is
written as Python writes its float, a whole one as an integer (1, 1.0, "1.0" and "01" are all "1"; image paths are
read as they are).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

from fusion_search._errors import UserError
from fusion_search.data._table import Table

ID_SHARE = 0.9  # distinct values per filled row above which a text or whole-number column is an identifier
ID_MIN_DISTINCT = 20  # ... once it has more distinct values than this (small tables cannot tell)
MISSING = frozenset({"", "na", "n/a", "#n/a", "#na", "<na>", "nan", "-nan", "null", "none", "nat"})  # lower-cased
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Columns:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]


def feature_columns(table: Table, reserved: set[str], numeric: tuple[str, ...] | None,
                    categorical: tuple[str, ...] | None, ignore: tuple[str, ...]) -> Columns:
    """The feature columns in table order, each numeric or categorical."""
    named = {"--numeric-columns": numeric or (), "--categorical-columns": categorical or (),
             "--ignore-columns": ignore}
    for flag, columns in named.items():
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise UserError(f"{table.source} has no column(s) {', '.join(missing)} ({flag})")
        if clash := [c for c in columns if c in reserved]:
            raise UserError(f"column '{clash[0]}' ({flag}) is the image, label or group column, not a feature")
    if both := set(numeric or ()) & set(categorical or ()):
        raise UserError(f"column '{sorted(both)[0]}' is named both numeric and categorical")
    if numeric is not None:  # the user listed the features
        features = [c for c in table.header if c in set(numeric) | set(categorical or ())]
    else:
        features = [c for c in table.header if c not in reserved | set(ignore)]
    if not features:
        raise UserError(f"{table.source} has no feature columns besides image and label")
    kinds = {c: "categorical" if c in (categorical or ()) else "numeric" if c in (numeric or ()) else
             _guess(table.column(c)) for c in features}
    for column in features:
        if kinds[column] == "categorical" or (column not in (numeric or ()) and _whole_numbers(table.column(column))):
            _require_not_an_id(table, column, number=kinds[column] == "numeric")
    return Columns(tuple(c for c in features if kinds[c] == "numeric"),
                   tuple(c for c in features if kinds[c] == "categorical"))


def cell_text(value: Any) -> str:
    """A cell in its canonical text form (see the module's docstring): CSV text stripped, a missing marker blank, a
    number as Python writes the float (a whole one as an integer: 1, 1.0, "1.0", "01" and "1e0" are all "1")."""
    if _missing(value):
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, numbers.Integral) else _number_text(float(value))
    text = str(value).strip()
    if text.lower() in MISSING:
        return ""
    if _INTEGER.fullmatch(text):  # exactly, however long (an ID of 20 digits has no float of its own)
        return str(int(text))
    return _number_text(float(text)) if _NUMBER.fullmatch(text) else text


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return math.isnan(value)
    return type(value).__name__ in {"NAType", "NaTType"}  # pandas.NA, pandas.NaT (pandas is not imported here)


def is_number(value: Any) -> bool:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return True
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def is_blank(value: Any) -> bool:
    """cell_text(value) == "", without writing the number out."""
    return _missing(value) or (not isinstance(value, numbers.Real) and str(value).strip().lower() in MISSING)


def _guess(values) -> str:
    filled = [v for v in values if not is_blank(v)]
    numeric = sum(is_number(v) for v in filled)
    return "numeric" if not filled or numeric > len(filled) / 2 else "categorical"


def _whole_numbers(values) -> bool:
    """Every filled cell is a whole number (an integer ID looks like this; a measurement rarely does)."""
    seen = False
    for value in values:
        text = cell_text(value)
        if text and not _INTEGER.fullmatch(text):
            return False  # (a measurement says so at its first decimal)
        seen = seen or bool(text)
    return seen


def _require_not_an_id(table: Table, column: str, number: bool = False) -> None:
    filled = [text for text in map(cell_text, table.column(column)) if text]
    distinct = len(set(filled))
    if distinct > ID_MIN_DISTINCT and distinct >= ID_SHARE * len(filled):
        keep = (f"; a number that truly is a feature is kept when --numeric-columns names it (with the other "
                f"features)" if number else "")
        raise UserError(f"column '{column}' has a different value on almost every row ({distinct} distinct in "
                        f"{len(filled)} rows): an identifier is not a feature; give it as --group-column if its rows "
                        f"belong together, or leave it out with --ignore-columns {column}{keep}")
