"""Export folders written whole or not at all. (The standard library swaps files atomically, not folders.)"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def folder_built_beside(path: Path) -> Iterator[Path]:
    """Yield a hidden sibling folder to fill; when the block ends without error it replaces ``path``, and on any
    error ``path`` stays as it was and nothing is left behind."""
    partial, old = path.parent / f".{path.name}.partial", path.parent / f".{path.name}.old"
    for leftover in (partial, old):
        shutil.rmtree(leftover, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
        if path.exists():
            path.rename(old)
        partial.rename(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
