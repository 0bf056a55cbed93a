"""Fusion designs, one module each, registered by name."""

from search.fusion._base import Fusion, baseline_fusions, get_fusion, list_fusions, register_fusion
from search.fusion import concat, late, multiply, unimodal  # noqa: F401  (registers them)

__all__ = ["Fusion", "baseline_fusions", "get_fusion", "list_fusions", "register_fusion"]
