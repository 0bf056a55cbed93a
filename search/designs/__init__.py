"""Designs: the frozen value that defines one model and its training, and the registry of named design kinds."""

from fusion_search.designs._catalog import AUGMENTATIONS, BACKBONES, DESCRIPTORS, DESIGNS, TREE_FIELDS, list_backbones
from fusion_search.designs._design import PIXEL_NETWORK_FIELDS, Design, design_fields, field_group, matters_with_backbone
from fusion_search.designs._kinds import (
    NEURAL,
    DesignKind,
    baseline_fusions,
    get_kind,
    list_designs,
    list_fusions,
    register_design,
    unregister_design,
)

__all__ = [
    "AUGMENTATIONS", "BACKBONES", "DESCRIPTORS", "DESIGNS", "NEURAL", "PIXEL_NETWORK_FIELDS", "TREE_FIELDS", "Design", "DesignKind", "baseline_fusions", "design_fields",
    "field_group", "get_kind", "matters_with_backbone", "list_backbones", "list_designs", "list_fusions", "register_design",
    "unregister_design",
]
