"""A search's data, prepared once per process: the manifest, its images per size, its fixed folds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from search._data import Manifest, ManifestSpec, read_manifest
from search._folds import assign_folds
from search._images import decode_images


@dataclass
class SearchData:
    manifest: Manifest
    folds: np.ndarray
    fold_seed: int
    _images: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        return int(self.folds.max()) + 1

    def images(self, size: int) -> np.ndarray:
        """All images decoded at size x size (decoded once, then kept)."""
        if size not in self._images:
            self._images[size] = decode_images(self.manifest.image_paths, size)
        return self._images[size]


def prepare_data(spec: ManifestSpec, k: int, fold_seed: int, image_sizes: tuple[int, ...] = ()) -> SearchData:
    """Read and check everything up front, so bad input fails before any study is touched."""
    manifest = read_manifest(spec)
    folds = assign_folds(manifest.labels, k, fold_seed, manifest.groups)
    data = SearchData(manifest, folds, fold_seed)
    for size in image_sizes:
        data.images(size)
    return data
