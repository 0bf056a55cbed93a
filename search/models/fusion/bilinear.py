import keras
from keras import layers, ops

from fusion_search.models.fusion._base import Fusion, register_fusion


@keras.saving.register_keras_serializable(package="fusion_search")
class RankSum(layers.Layer):
    """Multiply two (batch, r·d) tensors element-wise and sum the r rank-1 slices: (batch, d)."""

    def __init__(self, rank: int, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank

    def call(self, inputs):
        image, numeric = inputs
        product = ops.reshape(image * numeric, (-1, self.rank, image.shape[-1] // self.rank))
        return ops.sum(product, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1] // self.rank)

    def get_config(self):
        return {**super().get_config(), "rank": self.rank}


@register_fusion
class Bilinear(Fusion):
    """Low-rank bilinear fusion: h = Σ_{r=1..R} (W_v^r [v; 1]) ⊙ (W_t^r [t; 1]), width d, rank R.

    Appending 1 (a bias here) keeps the unimodal terms next to the v·t interactions; the rank
    ``bilinear_rank`` bounds the cost of the full bilinear tensor. Liu et al., "Efficient Low-rank
    Multimodal Fusion with Modality-Specific Factors" (ACL 2018); Yu et al., "Multi-modal Factorized
    Bilinear Pooling" (ICCV 2017).
    """

    name = "bilinear"

    def fuse(self, v, t):
        rank, width = self.design.bilinear_rank, self.design.fusion_units
        image = layers.Dense(rank * width, name="fusion_bilinear_image")(v)
        numeric = layers.Dense(rank * width, name="fusion_bilinear_numeric")(t)
        return RankSum(rank, name="fusion_bilinear")([image, numeric])
