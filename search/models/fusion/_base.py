"""The shared interface of the neural fusions, and their registry.

Every fusion maps (v, t) -> fused tensor, where v is the image-branch output and t the
numeric-branch output (either is None for a unimodal design). The head and the output
unit are built after it by the model builder, unless the design's kind says the fusion
already produces the logit (``outputs_logit``), as late fusion does. What a design reads and
which inputs it sees is its ``DesignKind`` (``fusion_search.designs``); this class only builds.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import keras
from keras import layers

from fusion_search._errors import UserError
from fusion_search.designs import Design, DesignKind, get_kind

_REGISTRY: dict[str, type["Fusion"]] = {}


class Fusion:
    """Base of every neural fusion. Subclasses set ``name`` (a registered design kind) and implement ``fuse``."""

    name: ClassVar[str]

    def __init__(self, design: Design, output_bias: float | tuple[float, ...] = 0.0):
        self.design = design
        self.kind: DesignKind = get_kind(self.name)
        # where a fusion's own output units start: the training rows' log-odds, or K classes' log-priors
        self.output_bias = output_bias

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


def output_logit(x, name: str, bias: float | tuple[float, ...] = 0.0):
    """The output logit: one unit whose bias starts at ``bias`` (the training rows' log-odds), or for K classes K
    units whose biases start at ``bias`` (their log-priors: the softmax starts at the class frequencies)."""
    if isinstance(bias, (int, float)):
        return layers.Dense(1, bias_initializer=keras.initializers.Constant(float(bias)), name=name)(x)
    return layers.Dense(len(bias), bias_initializer=keras.initializers.Constant([float(b) for b in bias]),
                        name=name)(x)


def register_fusion(cls: type[Fusion]) -> type[Fusion]:
    """Class decorator: the Keras builder of the neural design kind ``cls.name``."""
    if not get_kind(cls.name).neural:
        raise ValueError(f"design '{cls.name}' is not trained as one Keras model; it needs a trainer, not a fusion")
    if cls.name in _REGISTRY:
        warnings.warn(f"fusion '{cls.name}' registered twice; the later one wins", stacklevel=2)
    _REGISTRY[cls.name] = cls
    return cls


def unregister_fusion(name: str) -> None:
    """Forget a fusion (tests that register one of their own clean up with this)."""
    _REGISTRY.pop(name, None)


def get_fusion(name: str) -> type[Fusion]:
    if name not in _REGISTRY:
        raise UserError(f"design '{name}' has no Keras builder; neural designs: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def registered_fusions() -> list[str]:
    return sorted(_REGISTRY)
