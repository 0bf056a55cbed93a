"""A search's data, prepared once per process: the manifest, its images per size, its fixed folds,
and (for frozen backbones) its backbone features."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search._data import Manifest, ManifestSpec, read_manifest
from search._folds import assign_folds
from search._design import Design
from search._images import decode_images
from search._model import feature_extractor
from search.fusion import get_fusion
from storage import cached_array


@dataclass
class SearchData:
    manifest: Manifest
    folds: np.ndarray
    fold_seed: int
    caches: bool = True  # share decoded images and frozen-backbone features through storage's cache
    _images: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _features: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        return int(self.folds.max()) + 1

    def images(self, size: int) -> np.ndarray:
        """All images decoded at size x size (decoded once, then kept)."""
        if size not in self._images:
            decode = lambda: decode_images(self.manifest.image_paths, size)  # noqa: E731
            key = f"images-{self.manifest.fingerprint}-{size}"
            self._images[size] = cached_array(key, decode) if self.caches else decode()
        return self._images[size]

    def uses_feature_cache(self, design: Design) -> bool:
        """Frozen backbone with fixed weights: its features are the same for every trial, so compute them once.
        (Random weights, weights none, differ per training seed and are never cached.)"""
        return (self.caches and design.trainable_blocks == 0 and design.weights != "none"
                and get_fusion(design.fusion).uses_image)

    def features(self, design: Design) -> np.ndarray:
        """Backbone feature maps of all images for this design's backbone, weights and image size."""
        key = (design.backbone, weights_identity(design.weights), design.image_size)
        if key not in self._features:
            name = f"features-{self.manifest.fingerprint}-{'-'.join(map(str, key))}"
            self._features[key] = cached_array(name, lambda: self._extract(design))
        return self._features[key]

    def _extract(self, design: Design) -> np.ndarray:
        extractor = feature_extractor(design)
        return np.asarray(extractor.predict(self.images(design.image_size), batch_size=64, verbose=0), np.float32)


def weights_identity(weights: str) -> str:
    """imagenet / none as they are; a weights file by its content hash (a replaced file is a new key)."""
    if weights in {"imagenet", "none"}:
        return weights
    return "file" + hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:12]


def prepare_data(spec: ManifestSpec, k: int, fold_seed: int, image_sizes: tuple[int, ...] = (),
                 caches: bool = True) -> SearchData:
    """Read and check everything up front, so bad input fails before any study is touched."""
    manifest = read_manifest(spec)
    folds = assign_folds(manifest.labels, k, fold_seed, manifest.groups)
    data = SearchData(manifest, folds, fold_seed, caches)
    for size in image_sizes:
        data.images(size)
    return data
