"""Which columns of a table are features, and of which kind: numeric (numbers, blanks missing) or categorical
(strings such as sex, site or device; a blank is a category of its own).

A column the user names with --categorical-columns or --numeric-columns is that kind. Any other feature column
is numeric when most of its filled cells are numbers (a stray word there is then an error naming the cell:
usually a typo) and categorical otherwise. A categorical column with a different value on almost every row
is an identifier, not a feature, and is refused.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from fusion_search._errors import UserError
from fusion_search.data._table import Table

ID_SHARE = 0.9  # distinct values per filled row above which a string column is an identifier
ID_MIN_DISTINCT = 20  # ... once it has more distinct values than this (small tables cannot tell)


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
        if kinds[column] == "categorical":
            _require_not_an_id(table, column)
    return Columns(tuple(c for c in features if kinds[c] == "numeric"),
                   tuple(c for c in features if kinds[c] == "categorical"))


def cell_text(value: Any) -> str:
    """A cell as text: CSV cells are already text; a DataFrame's None or NaN is empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def is_number(value: Any) -> bool:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return True
    try:
        float(cell_text(value))
    except ValueError:
        return False
    return True


def is_blank(value: Any) -> bool:
    return cell_text(value).lower() in {"", "nan", "na", "null"}


def _guess(values) -> str:
    filled = [v for v in values if not is_blank(v)]
    numeric = sum(is_number(v) for v in filled)
    return "numeric" if not filled or numeric > len(filled) / 2 else "categorical"


def _require_not_an_id(table: Table, column: str) -> None:
    filled = [cell_text(v) for v in table.column(column) if cell_text(v)]
    distinct = len(set(filled))
    if distinct > ID_MIN_DISTINCT and distinct >= ID_SHARE * len(filled):
        raise UserError(f"column '{column}' has a different value on almost every row ({distinct} distinct in "
                        f"{len(filled)} rows): an identifier is not a feature; give it as --group-column if its rows "
                        f"belong together, or leave it out with --ignore-columns {column}")
