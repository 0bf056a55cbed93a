"""Space validation: every rule a space file must follow, each failure naming file, key and reason."""

from __future__ import annotations

import math
from typing import Any

from fusion_search._errors import UserError
from fusion_search.designs import AUGMENTATIONS, baseline_fusions, design_fields, get_kind, list_backbones, list_designs
from fusion_search.spaces._space import PARAM_KEYS, TOP_KEYS, Param, Space, default_value

NAMED_VALUES = {  # design fields whose values must be registered names
    "fusion": list_designs,
    "backbone": list_backbones,
    "image_norm": lambda: ["none", "batch", "layer"],
    "numeric_norm": lambda: ["none", "batch", "layer"],
    "film_target": lambda: ["pooled", "feature_map"],
    "attention_tokens": lambda: ["branches", "feature_map"],
    "class_weight": lambda: ["none", "balanced"],
    "categorical_encoding": lambda: ["auto", "onehot", "embedding"],
    "augmentation": lambda: list(AUGMENTATIONS),
}
# counts and widths: a model with 0 units or heads cannot be built
AT_LEAST_ONE = ("image_size", "image_units", "numeric_width", "numeric_units", "fusion_units", "bilinear_rank",
                "attention_heads", "head_units", "batch_size", "epochs")
ACTIVATIONS = ["relu", "sigmoid", "tanh", "linear", "gelu", "elu", "selu", "swish"]
for _name in ("image_activation", "numeric_activation", "multiply_image_activation", "multiply_numeric_activation"):
    NAMED_VALUES[_name] = lambda: ACTIVATIONS


class _Where:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str) -> None:
        raise UserError(f"{self.source}: {key}: {reason}")


def parse_space(raw: Any, name: str, source: str) -> Space:
    """A space from its parsed YAML; UserError naming file, key and reason for the first broken rule."""
    where = _Where(source)
    if not isinstance(raw, dict):
        where.fail("(top level)", "a space file must be a mapping with keys fixed, search, defaults")
    for key in raw:
        if key not in TOP_KEYS:
            where.fail(str(key), f"unknown key; allowed: {', '.join(sorted(TOP_KEYS))}")
    fixed = _fixed(where, raw.get("fixed") or {})
    params = _with_baselines(_params(where, raw.get("search") or {}, fixed), fixed)
    _require_fusion_inputs(where, fixed, params)
    defaults = _defaults(where, raw.get("defaults") or {}, params)
    first_tries = _first_tries(where, raw.get("first_tries") or [], params)
    return Space(name, source, str(raw.get("description", "")), fixed, tuple(params), defaults, first_tries)


def _fixed(where: _Where, fixed: Any) -> dict[str, Any]:
    if not isinstance(fixed, dict):
        where.fail("fixed", "must be a mapping of design field -> value")
    for key, value in fixed.items():
        _known_field(where, f"fixed.{key}", key)
        _check_value(where, f"fixed.{key}", key, value)
    return dict(fixed)


def _params(where: _Where, search: Any, fixed: dict[str, Any]) -> list[Param]:
    if not isinstance(search, dict):
        where.fail("search", "must be a mapping of design field -> range or choices")
    params = [_param(where, key, spec, fixed) for key, spec in search.items()]
    params.sort(key=lambda p: (p.name != "fusion", p.name != "backbone"))  # fusion, backbone first: fields depend on them
    names = {p.name: p for p in params}
    for param in params:
        for parent, values in param.when.items():
            parent_param = names.get(parent)
            if parent_param is None or parent_param.choices is None:
                where.fail(f"search.{param.name}.when", f"'{parent}' is not a searched categorical field")
            stray = [v for v in values if v not in parent_param.choices]
            if stray:
                where.fail(f"search.{param.name}.when", f"{stray} not among the choices of '{parent}'")
    return params


def _with_baselines(params: list[Param], fixed: dict[str, Any]) -> list[Param]:
    """The single-modality baselines are always searched too, so every study can compare with them."""
    fusion = next((p for p in params if p.name == "fusion"), None)
    chosen = fusion.choices if fusion else (fixed.pop("fusion", "concat"),)
    choices = tuple(dict.fromkeys((*chosen, *baseline_fusions())))
    rest = [p for p in params if p.name != "fusion"]
    return [Param("fusion", choices=choices), *rest]


def _param(where: _Where, key: str, spec: Any, fixed: dict[str, Any]) -> Param:
    at = f"search.{key}"
    _known_field(where, at, key)
    if key in fixed:
        where.fail(at, "is both fixed and searched")
    if not isinstance(spec, dict):
        where.fail(at, "must be a mapping with choices, or low and high")
    for sub in spec:
        if sub not in PARAM_KEYS:
            where.fail(f"{at}.{sub}", f"unknown key; allowed: {', '.join(sorted(PARAM_KEYS))}")
    when = _when(where, at, spec.get("when", {}))
    if "choices" in spec:
        return Param(key, choices=_choices(where, at, key, spec), when=when)
    return _range(where, at, key, spec, when)


def _choices(where: _Where, at: str, key: str, spec: dict) -> tuple[Any, ...]:
    if set(spec) & {"low", "high", "log", "step"}:
        where.fail(at, "give either choices or low/high, not both")
    choices = spec["choices"]
    if not isinstance(choices, list) or not choices:
        where.fail(f"{at}.choices", "must be a non-empty list")
    if len(set(map(repr, choices))) != len(choices):
        where.fail(f"{at}.choices", "has duplicates")
    for value in choices:
        _check_value(where, f"{at}.choices", key, value)
    return tuple(choices)


def _range(where: _Where, at: str, key: str, spec: dict, when: dict) -> Param:
    for bound in ("low", "high"):
        if not isinstance(spec.get(bound), (int, float)) or isinstance(spec.get(bound), bool):
            where.fail(f"{at}.{bound}", "missing or not a number (give choices, or low and high)")
    low, high, log, step = spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("step")
    if low > high:
        where.fail(at, f"low ({low}) > high ({high})")
    if key in AT_LEAST_ONE and low < 1:
        where.fail(f"{at}.low", f"'{key}' must be at least 1, got {low}")
    if log and low <= 0:
        where.fail(f"{at}.low", f"log scale needs a positive low bound, got {low}")
    if step is not None and (not isinstance(step, (int, float)) or step <= 0):
        where.fail(f"{at}.step", "must be a positive number")
    if step is not None and log:
        where.fail(at, "step and log cannot be combined")
    param = Param(key, low=low, high=high, log=log, step=step, when=when)
    if param.is_int and not all(float(v).is_integer() for v in (low, high)):
        where.fail(at, f"'{key}' is an integer field; low and high must be integers")
    return param


def _when(where: _Where, at: str, when: Any) -> dict[str, tuple[Any, ...]]:
    if not isinstance(when, dict):
        where.fail(f"{at}.when", "must map a parent field to the list of values it must take")
    out = {}
    for parent, values in when.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            where.fail(f"{at}.when.{parent}", "must be a non-empty list")
        out[parent] = tuple(values)
    return out


def _require_fusion_inputs(where: _Where, fixed: dict[str, Any], params: list[Param]) -> None:
    """A fusion that reads a width or setting the space neither fixes nor searches is an error."""
    given = set(fixed) | {p.name for p in params}
    fusion_param = next((p for p in params if p.name == "fusion"), None)
    fusions = fusion_param.choices if fusion_param else (fixed.get("fusion", "concat"),)
    for fusion in fusions:
        cls = get_kind(fusion)
        missing = [name for name in cls.reads if name not in given and name not in cls.optional]
        if missing:
            where.fail("search.fusion", f"fusion '{fusion}' needs {', '.join(missing)}, which the space neither fixes nor searches")


def _defaults(where: _Where, defaults: Any, params: list[Param]) -> dict[str, Any]:
    if not isinstance(defaults, dict):
        where.fail("defaults", "must be a mapping of searched field -> value")
    by_name = {p.name: p for p in params}
    for key, value in defaults.items():
        if key not in by_name:
            where.fail(f"defaults.{key}", "is not a searched field")
        if not _inside(by_name[key], value):
            where.fail(f"defaults.{key}", f"{value!r} is outside the searched range")
    return {p.name: defaults.get(p.name, default_value(p)) for p in params}


def _first_tries(where: _Where, entries: Any, params: list[Param]) -> tuple[dict[str, Any], ...]:
    """Each entry: a fusion design the space searches (not a baseline: those start at the defaults anyway) and
    values, inside their ranges, for searched fields (the rest come from defaults)."""
    if not isinstance(entries, list):
        where.fail("first_tries", "must be a list of mappings, each with a fusion and searched field -> value")
    by_name = {p.name: p for p in params}
    checked = []
    for i, entry in enumerate(entries):
        at = f"first_tries[{i}]"
        if not isinstance(entry, dict) or "fusion" not in entry:
            where.fail(at, "must be a mapping with a fusion and searched field -> value")
        if entry["fusion"] not in by_name["fusion"].choices or entry["fusion"] in baseline_fusions():
            where.fail(f"{at}.fusion", f"{entry['fusion']!r} is not a fusion design the space searches")
        for key, value in entry.items():
            if key not in by_name:
                where.fail(f"{at}.{key}", "is not a searched field")
            if not _inside(by_name[key], value):
                where.fail(f"{at}.{key}", f"{value!r} is outside the searched range")
        checked.append(dict(entry))
    return tuple(checked)


def _inside(param: Param, value: Any) -> bool:
    if param.choices is not None:
        return value in param.choices
    return isinstance(value, (int, float)) and param.low <= value <= param.high and math.isfinite(value)


def _known_field(where: _Where, at: str, key: str) -> None:
    if key not in design_fields():
        where.fail(at, "unknown design field (fusion-search spaces fields lists them)")


def _check_value(where: _Where, at: str, key: str, value: Any) -> None:
    if key in NAMED_VALUES and value not in NAMED_VALUES[key]():
        where.fail(at, f"unknown value {value!r}; known: {', '.join(map(str, NAMED_VALUES[key]()))}")
    default = design_fields()[key].default
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            where.fail(at, f"must be a number, got {value!r}")
        if isinstance(default, int) and not float(value).is_integer():
            where.fail(at, f"must be an integer, got {value!r}")
        if key in AT_LEAST_ONE and value < 1:
            where.fail(at, f"must be at least 1, got {value!r}")
