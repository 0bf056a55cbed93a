"""A table of samples as named columns, from a CSV file or a pandas DataFrame.

Everything above reads rows through this one shape, so a manifest file and a notebook's DataFrame
are validated by the same code. pandas is imported only when a DataFrame is given.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from fusion_search._errors import UserError


@dataclass(frozen=True)
class Table:
    """Columns of equal length; ``source`` names the table in messages, relative image paths start at ``base``."""

    columns: dict[str, Sequence[Any]]
    source: str
    base: Path

    @property
    def header(self) -> list[str]:
        return list(self.columns)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def column(self, name: str) -> Sequence[Any]:
        return self.columns[name]

    def records(self) -> list[dict[str, Any]]:
        """Row dicts in column order (for copying a table's columns to an output file)."""
        return [dict(zip(self.columns, values)) for values in zip(*self.columns.values())]


def read_table(data: Any, base: Path | None = None) -> Table:
    """A manifest path (str or path-like) or a pandas DataFrame as a Table."""
    if isinstance(data, (str, os.PathLike)):
        return read_csv_table(Path(data))
    if type(data).__module__.split(".")[0] == "pandas":
        return frame_table(data, base)
    raise UserError(f"data must be a manifest CSV path or a pandas DataFrame, got {type(data).__name__}")


def read_csv_table(path: Path) -> Table:
    """Every cell as the CSV's text; UserError for a missing, unreadable or empty file, or a header naming a column
    twice. Commas separate the cells unless the header has none: then csv.Sniffer finds the separator (; or tab)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"manifest not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=_separator(handle))
            header = [name.strip() for name in next(reader, [])]
            rows = [row for row in reader if row]  # (a blank line is no row)
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"manifest {path} is not a readable CSV file: {error}") from None
    if not header or not rows:
        raise UserError(f"manifest {path} has no rows")
    _require_unique(header, f"manifest {path}")
    columns = {name: [row[j] if j < len(row) else None for row in rows] for j, name in enumerate(header)}
    return Table(columns, f"manifest {path}", path.resolve().parent)


SEPARATORS = ";\t|"  # tried, in the header line, when it holds no comma


def _separator(handle) -> str:
    """The file's cell separator: a comma, unless the header line has none and csv.Sniffer finds another."""
    first = handle.readline()
    handle.seek(0)
    if "," in first:
        return ","
    try:
        return csv.Sniffer().sniff(first, delimiters=SEPARATORS).delimiter
    except csv.Error:
        return ","


def _require_unique(header: list[str], source: str) -> None:
    seen = set()
    for name in header:
        if name in seen:
            raise UserError(f"{source} names column '{name}' more than once: rename or drop one of them")
        seen.add(name)


def frame_table(frame: Any, base: Path | None = None) -> Table:
    """A DataFrame's columns (values as pandas holds them); relative image paths start at base (default: cwd)."""
    import pandas  # noqa: F401  (an optional dependency: only DataFrame users have it, and need it)

    if len(frame) == 0 or len(frame.columns) == 0:
        raise UserError("the DataFrame has no rows")
    _require_unique([str(name) for name in frame.columns], "the DataFrame")
    columns = {str(name): _values(frame[name]) for name in frame.columns}
    return Table(columns, "the DataFrame", Path(base or Path.cwd()).resolve())


def _values(series: Any) -> list[Any]:
    """A column's values as Python objects, but a float32 or float16 one's as numpy scalars: tolist() would widen
    0.1 to 0.10000000149011612, whose text no CSV of the frame holds (cell_text writes each in its own dtype)."""
    dtype = getattr(series.dtype, "numpy_dtype", series.dtype)  # (pandas' Float32 holds a numpy float32)
    narrow_float = getattr(dtype, "kind", "") == "f" and dtype.itemsize < 8
    return list(series.array) if narrow_float else series.tolist()
