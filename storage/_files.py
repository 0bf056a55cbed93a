"""Files written whole or not at all: built beside the target, then renamed into place."""

from __future__ import annotations

from pathlib import Path

from fusion_search._errors import UserError


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to path through a sibling .partial file: a failure never leaves half a file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"output folder does not exist: {path.parent}")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
