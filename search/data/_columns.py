"""Which columns of a table are features, and of which kind: numeric (numbers, blanks missing) or categorical
(strings such as sex, site or device; a blank is a category of its own).

A column the user names with --categorical-columns or --numeric-columns is that kind. Any other feature column
is numeric when most of its filled cells are numbers (a stray word there is then an error naming the cell:
usually a typo) and categorical otherwise. A column with a different value on almost every row is an identifier,
not a feature, and is refused: text, or whole numbers (a numeric patient_id sorted by class would score AUC 1.0);
a number the user names with --numeric-columns is kept.

A category, a label and a group are read through ``cell_text``, so that one means the same whether the table came
from a CSV, from a DataFrame of any dtype, or is being scored by ``predict``. Text is kept as written (only the spaces
around it go): "007" and "7" are two ZIP codes, two patients, two classes, and "NA", "None" or "n/a" are text; the
one exception is a whole number written as a float ("7.0", as pandas writes a code column with a blank), which is
that integer. A number (of a DataFrame) is the shortest text that gives it back in its own dtype, a whole one as an
integer: float32 0.1 is "0.1", 7.0 is "7". A DataFrame's missing values (None, NaN, pandas.NA, NaT) and an empty
cell are blank. A numeric column reads more as missing (``is_blank``: NA, N/A, NaN, null, None, <NA>, as pandas does),
since no number is spelt that way.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusion_search._errors import UserError
from fusion_search.data._table import Table

ID_SHARE = 0.9  # distinct values per filled row above which a text or whole-number column is an identifier
ID_MIN_DISTINCT = 20  # ... once it has more distinct values than this (small tables cannot tell)
MISSING = frozenset({"", "na", "n/a", "#n/a", "#na", "<na>", "nan", "-nan", "null", "none", "nat"})  # lower-cased
_INTEGER = re.compile(r"[+-]?\d+")
_WHOLE_FLOAT = re.compile(r"-?(0|[1-9]\d*)\.0")  # 7.0 as Python and pandas write it (not 07.0, +7.0 or 7.00)


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
        _require_a_value(table, column, "--numeric-columns" if column in (numeric or ()) else
                         "--categorical-columns" if column in (categorical or ()) else None)
        if kinds[column] == "categorical" or (column not in (numeric or ()) and _whole_numbers(table.column(column))):
            _require_not_an_id(table, column, number=kinds[column] == "numeric")
    return Columns(tuple(c for c in features if kinds[c] == "numeric"),
                   tuple(c for c in features if kinds[c] == "categorical"))


def cell_text(value: Any) -> str:
    """A category's, a label's or a group's text (see the module's docstring): text as written, stripped ("007"
    stays "007", "7.0" is "7"); a number the shortest text of its own dtype, a whole one as an integer (float32 0.1
    is "0.1"); a missing value blank."""
    if isinstance(value, str):
        text = value.strip()
        return str(int(text[:-2])) if text.endswith(".0") and _WHOLE_FLOAT.fullmatch(text) else text
    if _missing(value):
        return ""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        # str of a numpy float is the shortest text that round-trips in its own dtype (float(value) would write
        # float32 0.1 as 0.10000000149011612); parsed as a Python float, it is written the way the CSV's text is
        return _number_text(float(str(value)) if isinstance(value, np.floating) else float(value))
    return str(value).strip()


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
    """Missing in a numeric column: a missing value, or text pandas reads as missing (NA, None, n/a, ...)."""
    return _missing(value) or (not isinstance(value, numbers.Real) and str(value).strip().lower() in MISSING)


def _guess(values) -> str:
    filled = [v for v in values if not is_blank(v)]
    numeric = sum(is_number(v) for v in filled)
    return "numeric" if not filled or numeric > len(filled) / 2 else "categorical"


def _require_a_value(table: Table, column: str, named_by: str | None) -> None:
    """A feature blank on every row would be a numeric column of NaN that no model can learn from: refused."""
    if all(map(is_blank, table.column(column))):
        leave = f"out of {named_by}" if named_by else f"out with --ignore-columns {column}"
        raise UserError(f"column '{column}' is blank on every row: there is nothing to learn from it; leave it {leave}")


def _whole_numbers(values) -> bool:
    """Every filled cell is a whole number (an integer ID looks like this; a measurement rarely does)."""
    seen = False
    for value in values:
        text = "" if is_blank(value) else cell_text(value)
        if text and not _INTEGER.fullmatch(text):
            return False  # (a measurement says so at its first decimal)
        seen = seen or bool(text)
    return seen


def _require_not_an_id(table: Table, column: str, number: bool = False) -> None:
    filled = [cell_text(value) for value in table.column(column) if not is_blank(value)]
    distinct = len(set(filled))
    if distinct > ID_MIN_DISTINCT and distinct >= ID_SHARE * len(filled):
        keep = (f"; a number that truly is a feature is kept when --numeric-columns names it (with the other "
                f"features)" if number else "")
        raise UserError(f"column '{column}' has a different value on almost every row ({distinct} distinct in "
                        f"{len(filled)} rows): an identifier is not a feature; give it as --group-column if its rows "
                        f"belong together, or leave it out with --ignore-columns {column}{keep}")
