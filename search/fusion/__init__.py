"""Fusion designs, one module each, registered by name."""

from search.fusion._base import Fusion, baseline_fusions, get_fusion, list_designs, list_fusions, register_fusion
from search.fusion import add, attention, bilinear, concat, film, gated, late, multiply, unimodal  # noqa: F401

from search.fusion import hybrid  # noqa: E402,F401  (tree and stacking designs; after the neural ones)

__all__ = ["Fusion", "baseline_fusions", "get_fusion", "list_designs", "list_fusions", "register_fusion"]
