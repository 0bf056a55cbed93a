from keras import layers

from fusion_search.models.fusion._base import Fusion, register_fusion


@register_fusion
class Multiply(Fusion):
    """Element-wise product of projected branches: h = a(W_v v) ⊙ b(W_t t), both of width d.

    The answer to the question suggests ``Multiply()`` with one side sigmoid and the other
    relu/linear so the product keeps a sane range: ``multiply_image_activation`` (a) and
    ``multiply_numeric_activation`` (b) choose them. Multiplicative interactions in general:
    Jayakumar et al., "Multiplicative Interactions and Where to Find Them" (ICLR 2020).
    """

    name = "multiply"

    def fuse(self, v, t):
        image = self.project(v, self.design.multiply_image_activation, "fusion_project_image")
        numeric = self.project(t, self.design.multiply_numeric_activation, "fusion_project_numeric")
        return layers.Multiply(name="fusion_multiply")([image, numeric])
