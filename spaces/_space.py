"""A search space as data, and how it turns into Optuna suggestions and the baselines' parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna

from fusion_search.designs import Design, baseline_fusions, design_fields, get_kind, matters_with_backbone

TOP_KEYS = {"description", "fixed", "search", "defaults", "first_tries"}
PARAM_KEYS = {"choices", "low", "high", "log", "step", "when"}


@dataclass(frozen=True)
class Param:
    """One searched design field: categorical (choices) or a numeric range."""

    name: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # parent -> values it must take

    @property
    def is_int(self) -> bool:
        return isinstance(design_fields()[self.name].default, int)

    def record(self) -> dict[str, Any]:
        """The parameter as plain data (JSON): choices, or low/high/log/step; and its conditions."""
        spec = {"choices": list(self.choices)} if self.choices is not None else {
            "low": self.low, "high": self.high, "log": self.log, "step": self.step}
        return {**spec, "when": {parent: list(values) for parent, values in self.when.items()}}


@dataclass(frozen=True)
class Space:
    name: str
    source: str  # file the space came from
    description: str
    fixed: dict[str, Any]
    params: tuple[Param, ...]
    defaults: dict[str, Any]
    first_tries: tuple[dict[str, Any], ...] = ()  # per fusion family, best first: overrides of the defaults

    @property
    def fusions(self) -> tuple[str, ...]:
        fusion = self.param("fusion")
        return tuple(fusion.choices) if fusion else (self.fixed.get("fusion", Design().fusion),)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def record(self) -> dict[str, Any]:
        """The resolved space as plain data (JSON), as a study stores it: what a trial's design is built from."""
        record = {"fixed": dict(self.fixed), "search": {p.name: p.record() for p in self.params},
                  "defaults": dict(self.defaults)}
        if self.first_tries:  # (absent when empty: a space without first tries records as it always did)
            record["first_tries"] = [dict(entry) for entry in self.first_tries]
        return record

    @property
    def image_sizes(self) -> tuple[int, ...]:
        """Image sizes a trial can ask for (decoded, and so checked, before a study is touched);
        empty when the size is a searched range."""
        if "image_size" in self.fixed:
            return (int(self.fixed["image_size"]),)
        param = self.param("image_size")
        if param is None:
            return (Design().image_size,)
        return tuple(int(v) for v in param.choices) if param.choices is not None else ()


def applies(name: str, fusion: str) -> bool:
    """Whether a design field matters for a design (image fields don't for numeric_only, network fields
    don't for trees, ...): only fields that matter are sampled and recorded."""
    return get_kind(fusion).uses_field(name)


def suggest_design(trial: optuna.Trial, space: Space) -> Design:
    """Ask the trial for every searched field that applies to this trial's fusion."""
    params: dict[str, Any] = dict(space.fixed)
    for param in space.params:
        if _active(param, params):
            params[param.name] = _suggest(trial, param)
    return Design.from_params(params)


def baseline_params(space: Space) -> list[dict[str, Any]]:
    """Full parameter sets of the baselines (space defaults elsewhere), to enqueue first."""
    return [_enqueued(space, {"fusion": fusion}) for fusion in baseline_fusions()]


def first_try_params(space: Space) -> list[dict[str, Any]]:
    """Full parameter sets of the fusion families' first tries (the space's ``first_tries``, in its order: best
    first), each the space's defaults with the entry's overrides, to enqueue after the baselines."""
    return [_enqueued(space, entry) for entry in space.first_tries]


def _enqueued(space: Space, values: dict[str, Any]) -> dict[str, Any]:
    """The searched parameters of one enqueued trial: `values` (a fusion, and any searched fields), the space's
    defaults for every other field the design uses. Fusion and backbone come first in the space, so later fields
    see their values."""
    params: dict[str, Any] = dict(space.fixed, fusion=values["fusion"])
    for param in space.params:
        if param.name != "fusion" and _active(param, params):
            params[param.name] = values.get(param.name, space.defaults[param.name])
    return {k: v for k, v in params.items() if k not in space.fixed}


def first_try_name(params: dict[str, Any]) -> str:
    """How a first try is named in words: its design, and the backbone where the space searches it."""
    backbone = params.get("backbone")
    return f"{params['fusion']} on {backbone}" if backbone else params["fusion"]


def _active(param: Param, chosen: dict[str, Any]) -> bool:
    if param.name == "fusion":
        return True
    if not applies(param.name, chosen["fusion"]) or not matters_with_backbone(param.name, chosen.get("backbone")):
        return False
    return all(chosen.get(parent) in values for parent, values in param.when.items())


def _suggest(trial: optuna.Trial, param: Param) -> Any:
    if param.choices is not None:
        return trial.suggest_categorical(param.name, list(param.choices))
    if param.is_int:
        step = int(param.step or 1)
        return trial.suggest_int(param.name, int(param.low), int(param.high), step=step, log=param.log)
    return trial.suggest_float(param.name, float(param.low), float(param.high), step=param.step, log=param.log)


def default_value(param: Param) -> Any:
    """A value inside the param's range: the Design's default if it fits, else the middle."""
    design_default = design_fields()[param.name].default
    if param.choices is not None:
        return design_default if design_default in param.choices else param.choices[0]
    if param.low <= design_default <= param.high:
        return design_default
    middle = math.sqrt(param.low * param.high) if param.log else (param.low + param.high) / 2
    return int(round(middle)) if param.is_int else middle


def first_difference(stored: Any, current: Any, path: str = "") -> str | None:
    """The dotted key of the first place two space records differ (None: they are the same)."""
    if isinstance(stored, dict) and isinstance(current, dict):
        for key in list(stored) + [k for k in current if k not in stored]:
            if key not in stored or key not in current:
                return f"{path}{key}"
            found = first_difference(stored[key], current[key], f"{path}{key}.")
            if found is not None:
                return found
        return None
    return None if stored == current else path.rstrip(".")
