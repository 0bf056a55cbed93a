"""Spaces by name or path: the shipped YAML files beside this module, or a user's file, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fusion_search._errors import UserError
from fusion_search.spaces._space import Space
from fusion_search.spaces._validate import parse_space

SPACE_DIR = Path(__file__).resolve().parent


def list_spaces() -> list[str]:
    return sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))


def load_space(name_or_path: str) -> Space:
    """A shipped space by name, or a user's YAML file by path."""
    path = Path(name_or_path)
    if path.suffix not in {".yaml", ".yml"}:
        if name_or_path not in list_spaces():
            raise UserError(f"unknown space '{name_or_path}'; shipped spaces: {', '.join(list_spaces())} (or give a .yaml path)")
        path = SPACE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UserError(f"space file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    return parse_space(raw, name=path.stem, source=str(path))


def space_from_record(record: dict[str, Any], name: str, description: str = "") -> Space:
    """A space rebuilt from the record a study stored (Space.record()), so that a study resumes with the ranges it
    was searched with after the shipped file of its name has changed."""
    search = {}
    for param, spec in record["search"].items():
        if "choices" in spec:
            search[param] = {"choices": spec["choices"], **({"when": spec["when"]} if spec.get("when") else {})}
        else:
            search[param] = {key: value for key, value in spec.items()
                             if key in ("low", "high", "log") or (key in ("step", "when") and value)}
    raw = {"description": description, "fixed": record["fixed"], "search": search, "defaults": record["defaults"],
           "first_tries": record.get("first_tries", [])}
    return parse_space(raw, name=name, source=f"the space study records of '{name}'")
