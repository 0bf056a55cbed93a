"""What an image branch reads instead of pixels, computed once per machine (storage's cache) so that trials train
only the heads on top: a frozen backbone's feature maps (the same for every trial of a backbone, weights and image
size), or the classical image descriptors (backbone "descriptors")."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import numpy as np

from fusion_search.data import SearchData
from fusion_search.designs import DESCRIPTORS, Design, get_kind
from fusion_search.models import RowBatches, feature_extractor

EXTRACT_ROWS = 1024  # images per extraction chunk (a chunk's feature maps are in memory at once)
EXTRACT_BATCH = 128  # images per extraction step (the next ones are read while it runs)


def image_features(data: SearchData, design: Design) -> np.ndarray | None:
    """The descriptors, or a frozen backbone's cached feature maps, of every image; None: the design reads pixels."""
    if not get_kind(design.fusion).uses_image:
        return None
    if design.backbone == DESCRIPTORS:
        return data.descriptors(design.decode_size)
    return backbone_features(data, design) if uses_feature_cache(data, design) else None


def uses_feature_cache(data: SearchData, design: Design) -> bool:
    """Frozen network backbone with fixed weights, images not augmented. (Random weights, weights none, differ per
    training seed and are never cached; augmented images differ per epoch.)"""
    return (data.caches and design.trainable_blocks == 0 and design.weights != "none"
            and design.augmentation == "none"
            and design.backbone != DESCRIPTORS and get_kind(design.fusion).uses_image)


def backbone_features(data: SearchData, design: Design) -> np.ndarray:
    """Backbone feature maps of all images for this design's backbone, weights and image size (extracted chunk
    by chunk into the cache: neither the images nor the maps are ever all in memory)."""
    name = f"features-{design.backbone}-{weights_identity(design.weights)}-{design.image_size}"
    return data.derived_rows(name, lambda: extracted_chunks(design, data.images(design.image_size)))


def extracted_chunks(design: Design, images: np.ndarray) -> Iterator[np.ndarray]:
    """The backbone's feature maps of the images, one chunk of rows at a time."""
    return feature_chunks(feature_extractor(design), images)


def feature_chunks(extractor, images: np.ndarray, rows: int = EXTRACT_ROWS) -> Iterator[np.ndarray]:
    """extractor's outputs of every image, ``rows`` rows at a time, extracted batch by batch from RowBatches (the
    next batches are read from the cache while the extractor runs, across chunks too)."""
    batches = RowBatches({"image": images}, np.arange(len(images)), EXTRACT_BATCH)
    per_chunk = max(1, rows // EXTRACT_BATCH)
    for start in range(0, len(batches), per_chunk):
        yield np.concatenate([extract(extractor, batches[index][0]["image"])
                              for index in range(start, min(start + per_chunk, len(batches)))])


def extract(extractor, images: np.ndarray) -> np.ndarray:
    """One batch's outputs as float32."""
    return np.asarray(extractor.predict_on_batch(images), np.float32)


def weights_identity(weights: str) -> str:
    """imagenet / none as they are; a weights file by its content hash (a replaced file is a new key)."""
    if weights in {"imagenet", "none"}:
        return weights
    return "file" + hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:12]
