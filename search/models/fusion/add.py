from keras import layers

from fusion_search.models.fusion._base import Fusion, register_fusion


@register_fusion
class Add(Fusion):
    """Sum of projected branches: h = W_v v + W_t t, both of width d (linear projections), then the head.

    The other merge AutoKeras's Merge block offers besides concatenation; with linear projections it
    is concat followed by a shared layer, so it mainly tests whether a narrower merge helps.
    Jin et al., "AutoKeras" (2019, 2023) ``keras.layers.Add``.
    """

    name = "add"

    def fuse(self, v, t):
        image = self.project(v, "linear", "fusion_project_image")
        numeric = self.project(t, "linear", "fusion_project_numeric")
        return layers.Add(name="fusion_add")([image, numeric])
