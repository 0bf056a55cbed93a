import keras
from keras import layers, ops

from fusion_search.models.fusion._base import Fusion, register_fusion

TARGETS = ("pooled", "feature_map")


@keras.saving.register_keras_serializable(package="fusion_search")
class FeatureWiseAffine(layers.Layer):
    """x' = (1 + γ) ⊙ x + β per channel; x is (batch, c) or (batch, h, w, c), γ and β are (batch, c)."""

    def call(self, inputs):
        x, gamma, beta = inputs
        for _ in range(len(x.shape) - 2):  # broadcast over the spatial axes of a feature map
            gamma, beta = ops.expand_dims(gamma, 1), ops.expand_dims(beta, 1)
        return (1.0 + gamma) * x + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@register_fusion
class Film(Fusion):
    """FiLM: the numeric branch predicts a per-channel scale and shift of the image features.

    h = (1 + γ(t)) ⊙ v + β(t), with γ = W_γ t, β = W_β t (written 1 + γ so that the start is the
    identity). Perez et al., "FiLM: Visual Reasoning with a General Conditioning Layer" (AAAI 2018).
    ``film_target``: ``pooled`` modulates the pooled image vector v; ``feature_map`` modulates every
    position of the backbone's last feature map before pooling, as DAFT does for image + tabular data
    (Pölsterl et al., "Combining 3D Image and Tabular Data via the Dynamic Affine Feature Map
    Transform", MICCAI 2021) — the image head then sees features already conditioned on t, and h = v.
    """

    name = "film"

    _map_modulated = False  # set when the backbone's feature map was modulated (an image branch without a map,
    # on descriptors, has none: then the pooled vector is modulated whatever film_target says)

    def on_feature_map(self, feature_map, t):
        if self.design.film_target != "feature_map":
            return feature_map
        self._map_modulated = True
        return self._modulate(feature_map, t, "fusion_film_map")

    def fuse(self, v, t):
        if self._map_modulated:
            return v
        return self._modulate(v, t, "fusion_film")

    def _modulate(self, x, t, name: str):
        if self.design.film_target not in TARGETS:
            raise ValueError(f"film_target must be one of {TARGETS}, got {self.design.film_target!r}")
        channels = x.shape[-1]
        gamma = layers.Dense(channels, name=f"{name}_gamma")(t)
        beta = layers.Dense(channels, name=f"{name}_beta")(t)
        return FeatureWiseAffine(name=name)([x, gamma, beta])
