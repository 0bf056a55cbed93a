import keras
from keras import layers, ops

from fusion_search.models.fusion._base import Fusion, output_logit, register_fusion


@keras.saving.register_keras_serializable(package="fusion_search")
class LearnedMix(layers.Layer):
    """s = α·s_img + (1 − α)·s_num with α = sigmoid(w), w learned (starts at α = 0.5)."""

    def build(self, input_shape):
        self.mix = self.add_weight(shape=(), initializer="zeros", name="mix")

    def call(self, inputs):
        image_logit, numeric_logit = inputs
        alpha = ops.sigmoid(self.mix)
        return alpha * image_logit + (1.0 - alpha) * numeric_logit

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@register_fusion
class Late(Fusion):
    """Late fusion: p = σ(α·s_img + (1 − α)·s_num), each branch scored by its own dense unit.

    α is the learnable mixing parameter the question asks about (kept in [0, 1] through a
    sigmoid). Score-level fusion: Kittler et al., "On Combining Classifiers" (1998);
    AutoGluon's late-fusion MLP does the same with a learned head.

    ``late_aux_weight`` w > 0 adds auxiliary losses that make each branch a classifier on its own:
    loss = BCE(y, p) + w·BCE(y, σ(s_img)) + w·BCE(y, σ(s_num)) (AutoGluon's fusion_mlp uses
    w = 0.1), so neither branch can lean on the other. The auxiliary outputs are for training only.
    """

    name = "late"

    def fuse(self, v, t):
        # both branch logits start at the prior's log-odds b, so the mix starts there too: α·b + (1 − α)·b = b
        self._logits = {"fusion_image_score": output_logit(v, "fusion_image_logit", self.output_bias),
                        "fusion_numeric_score": output_logit(t, "fusion_numeric_logit", self.output_bias)}
        return LearnedMix(name="fusion_mix")(list(self._logits.values()))

    def auxiliary_logits(self) -> dict:
        return self._logits if self.design.late_aux_weight > 0 else {}

    @property
    def auxiliary_weight(self) -> float:
        return float(self.design.late_aux_weight)
