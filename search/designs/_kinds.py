"""Design kinds: what each named design is, as data, and the registry a space validates against.

A kind says which inputs a design sees, which trainer fits it (``fusion_search.trainers``), which Keras
network it trains (itself, another kind's, or none), and which design fields it reads. How a neural
fusion joins its branches lives beside its formula in ``fusion_search.models.fusion``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from fusion_search._errors import UserError
from fusion_search.designs._design import field_group

_REGISTRY: dict[str, "DesignKind"] = {}
NEURAL = "neural"  # the trainer of every design that is one Keras model


@dataclass(frozen=True)
class DesignKind:
    """One named design, e.g. ``DesignKind("gated", "Gated Multimodal Unit", reads=("fusion_units",))``."""

    name: str
    summary: str  # one line: what the design does
    uses_image: bool = True
    uses_numeric: bool = True
    trainer: str = NEURAL  # name of the trainer that fits it
    network: str | None = "self"  # the Keras network it trains: "self", another kind's name, or None (none)
    outputs_logit: bool = False  # a neural fusion that produces the logit itself, so no head follows it
    reads: tuple[str, ...] = ()  # fusion-group design fields it reads (for space validation and sampling)
    optional: tuple[str, ...] = ()  # those of `reads` a space may leave out (the Design default is the plain variant)

    @property
    def neural(self) -> bool:
        return self.trainer == NEURAL

    @property
    def is_baseline(self) -> bool:
        """A single-modality design: what every fusion design is judged against."""
        return not (self.uses_image and self.uses_numeric)

    def network_kind(self) -> "DesignKind | None":
        """The kind of the Keras network this design trains (None: it trains none)."""
        if self.network is None:
            return None
        return self if self.network == "self" else get_kind(self.network)

    def uses_field(self, name: str) -> bool:
        """Whether a design field matters for this kind (so a space samples it, and a trial records it)."""
        group = field_group(name)
        if group == "fusion":
            return name == "fusion" or name in self.reads
        if group == "backbone":
            return self.uses_image
        network = self.network_kind()
        if network is None:
            return False
        if group == "image":
            return network.uses_image
        if group == "numeric":
            return network.uses_numeric
        if group == "head":
            return not network.outputs_logit
        return True  # training fields: every network is trained with them


def register_design(kind: DesignKind) -> DesignKind:
    if kind.name in _REGISTRY:
        warnings.warn(f"design '{kind.name}' registered twice; the later one wins", stacklevel=2)
    _REGISTRY[kind.name] = kind
    return kind


def unregister_design(name: str) -> None:
    """Forget a design (tests that register one of their own clean up with this)."""
    _REGISTRY.pop(name, None)


def get_kind(name: str) -> DesignKind:
    if name not in _REGISTRY:
        raise UserError(f"unknown fusion type '{name}'; known: {', '.join(list_designs())}")
    return _REGISTRY[name]


def list_fusions() -> list[str]:
    """The neural designs: each is one Keras model."""
    return sorted(name for name, kind in _REGISTRY.items() if kind.neural)


def list_designs() -> list[str]:
    """Every design a space can name: the neural ones, then those with trainers of their own (trees, stacking)."""
    return list_fusions() + sorted(name for name, kind in _REGISTRY.items() if not kind.neural)


def baseline_fusions() -> list[str]:
    """The single-modality designs every study measures (neural ones first, then the tree baseline)."""
    return [name for name in list_designs() if _REGISTRY[name].is_baseline]
