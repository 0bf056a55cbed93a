"""Hybrid designs: gradient-boosted trees alone, stacked on an image score, or on an image embedding."""

from search.fusion.hybrid import embedding, gbdt_only, stacked  # noqa: F401  (registers them)
