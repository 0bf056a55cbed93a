from keras import layers

from fusion_search.models.fusion._base import Fusion, register_fusion


@register_fusion
class Concat(Fusion):
    """Concatenation: h = [v; t], then the head.

    The question's design (Keras ``concatenate``); the usual early/intermediate fusion
    baseline, e.g. Baltrušaitis et al., "Multimodal Machine Learning: A Survey" (2018).
    """

    name = "concat"

    def fuse(self, v, t):
        return layers.Concatenate(name="fusion_concat")([v, t])
