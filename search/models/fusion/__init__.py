"""The neural fusions, one module each, registered by design name."""

from fusion_search.models.fusion import add, attention, bilinear, concat, film, gated, late, multiply, unimodal  # noqa: F401,E402
from fusion_search.models.fusion._base import (
    Fusion, get_fusion, output_logit, register_fusion, registered_fusions, unregister_fusion,
)

__all__ = ["Fusion", "get_fusion", "output_logit", "register_fusion", "registered_fusions", "unregister_fusion"]
