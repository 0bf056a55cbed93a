from fusion_search.models.fusion._base import Fusion, register_fusion


@register_fusion
class ImageOnly(Fusion):
    """Baseline: the image branch alone, h = v, trained by the same code as every fused design."""

    name = "image_only"

    def fuse(self, v, t):
        return v


@register_fusion
class NumericOnly(Fusion):
    """Baseline: the numeric branch alone, h = t, trained by the same code as every fused design."""

    name = "numeric_only"

    def fuse(self, v, t):
        return t
