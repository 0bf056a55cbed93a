"""The shared fusion interface and its registry.

Every fusion maps (v, t) -> fused tensor, where v is the image-branch output and t the
numeric-branch output (either is None for a unimodal design). The head and the output
unit are built after it by the model builder, unless the fusion already produces the
logit (``outputs_logit``), as late fusion does.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

from keras import layers

from search._design import Design
from search._errors import UserError

_REGISTRY: dict[str, type["Fusion"]] = {}


class Fusion:
    """Base of every fusion design. Subclasses set ``name`` and implement ``fuse``."""

    name: ClassVar[str]
    uses_image: ClassVar[bool] = True
    uses_numeric: ClassVar[bool] = True
    outputs_logit: ClassVar[bool] = False
    # design fields this fusion reads besides the branches (for space validation)
    reads: ClassVar[tuple[str, ...]] = ()
    # those of `reads` a space may leave out: off switches whose Design default is the plain variant
    optional: ClassVar[tuple[str, ...]] = ()

    # False for hybrid designs (trees, stacking) that train with their own fold trainer, not a Keras model
    neural: ClassVar[bool] = True

    def __init__(self, design: Design):
        self.design = design

    @staticmethod
    def train_fold(design: Design, data, train_idx, val_idx, seed: int, on_epoch=None):
        """Train this design on one fold and score the whole validation fold (a FoldResult).
        Neural fusions share the Keras trainer; hybrid designs override this."""
        from search._train import train_fold

        return train_fold(design, data, train_idx, val_idx, seed, on_epoch)

    @staticmethod
    def network_design(design: Design) -> Design | None:
        """The design of the Keras model this design trains with its batch size (None: it trains none on
        the device), for the memory check. Neural fusions train themselves."""
        return design

    def fuse(self, v, t):
        raise NotImplementedError

    def on_feature_map(self, feature_map, t):
        """See the backbone's last feature map (batch, h, w, c) before it is pooled into v; return the map to pool.

        The builder calls this before ``fuse`` (t is the numeric-branch output, or None). The default
        leaves the map alone; FiLM on the feature map (DAFT) modulates it, attention keeps its positions.
        """
        return feature_map

    def auxiliary_logits(self) -> dict:
        """Extra per-branch logits, by output name, trained with weight ``auxiliary_weight`` (default none)."""
        return {}

    @property
    def auxiliary_weight(self) -> float:
        return 0.0

    def project(self, x, activation: str, name: str):
        """The shared adapter: a dense map of one branch to the common width d = fusion_units."""
        return layers.Dense(self.design.fusion_units, activation=activation, name=name)(x)


def register_fusion(cls: type[Fusion]) -> type[Fusion]:
    """Class decorator: make a fusion available under ``cls.name``."""
    if cls.name in _REGISTRY:
        warnings.warn(f"fusion '{cls.name}' registered twice; the later one wins", stacklevel=2)
    _REGISTRY[cls.name] = cls
    return cls


def get_fusion(name: str) -> type[Fusion]:
    if name not in _REGISTRY:
        raise UserError(f"unknown fusion type '{name}'; known: {', '.join(list_designs())}")
    return _REGISTRY[name]


def list_fusions() -> list[str]:
    """The neural fusions: each builds one Keras model."""
    return sorted(name for name, cls in _REGISTRY.items() if cls.neural)


def list_designs() -> list[str]:
    """Every design a space can name: the neural fusions, then the hybrid (tree and stacking) designs."""
    return list_fusions() + sorted(name for name, cls in _REGISTRY.items() if not cls.neural)


def baseline_fusions() -> list[str]:
    """The single-modality designs every study measures (neural ones first, then the tree baseline)."""
    return [name for name in list_designs() if not (_REGISTRY[name].uses_image and _REGISTRY[name].uses_numeric)]
