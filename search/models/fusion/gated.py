import keras
from keras import layers

from fusion_search.models.fusion._base import Fusion, register_fusion


@keras.saving.register_keras_serializable(package="fusion_search")
class GatedMix(layers.Layer):
    """h = z ⊙ a + (1 − z) ⊙ b for inputs [z, a, b] of the same shape."""

    def call(self, inputs):
        gate, image, numeric = inputs
        return gate * image + (1.0 - gate) * numeric

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@register_fusion
class Gated(Fusion):
    """Gated Multimodal Unit: z = σ(W_z [v; t]), h = z ⊙ tanh(W_v v) + (1 − z) ⊙ tanh(W_t t), width d.

    The gate decides per sample and per unit how much each modality contributes, so one branch
    can take over where the other is uninformative. Arevalo et al., "Gated Multimodal Units for
    Information Fusion" (ICLR workshop 2017).
    """

    name = "gated"

    def fuse(self, v, t):
        image = self.project(v, "tanh", "fusion_gated_image")
        numeric = self.project(t, "tanh", "fusion_gated_numeric")
        both = layers.Concatenate(name="fusion_gated_concat")([v, t])
        gate = self.project(both, "sigmoid", "fusion_gate")
        return GatedMix(name="fusion_gated_mix")([gate, image, numeric])
