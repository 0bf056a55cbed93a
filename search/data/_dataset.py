"""A search's data, prepared once per process: the manifest, its images per size, its fixed folds, and a
memo of arrays derived from them (such as frozen-backbone features), shared through storage's cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from fusion_search.data._descriptors import DESCRIPTOR_VERSION, image_descriptors
from fusion_search.data._folds import assign_folds, holdout_mask
from fusion_search.data._images import image_chunks
from fusion_search.data._manifest import Manifest, ManifestSpec, read_manifest
from fusion_search.storage import cached_array, cached_rows, chunk_rows, filled_rows, read_rows


@dataclass
class SearchData:
    manifest: Manifest
    folds: np.ndarray
    fold_seed: int
    caches: bool = True  # share decoded images and derived arrays through storage's cache
    holdout_fraction: float = 0.0  # share of rows set aside from the search (fold id -1)
    _arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        return int(self.folds.max()) + 1

    @property
    def search_rows(self) -> np.ndarray:
        """Rows the search trains and scores on (every row but the held-out ones)."""
        return np.flatnonzero(self.folds >= 0)

    @property
    def holdout_rows(self) -> np.ndarray:
        """Rows set aside with --holdout: no trial sees them; the confirmation scores the winners on them once."""
        return np.flatnonzero(self.folds < 0)

    def images(self, size: int) -> np.ndarray:
        """All images decoded at size x size (decoded once, chunk by chunk, then kept)."""
        return self.derived_rows(f"images-{size}", lambda: image_chunks(self.manifest.image_paths, size))

    def descriptors(self, size: int) -> np.ndarray:
        """Every image's classical descriptors at size x size (computed once per machine, then kept)."""
        return self.derived_rows(f"descriptors-v{DESCRIPTOR_VERSION}-{size}",
                                 lambda: (image_descriptors(chunk) for chunk in row_chunks(self.images(size))))

    def derived(self, name: str, build: Callable[[], np.ndarray], shared: bool = True) -> np.ndarray:
        """An array computed from this data once per process; with ``shared`` (and caches on) also once per
        machine, through storage's cache, under this data's fingerprint and ``name``."""
        if name not in self._arrays:
            key = f"{name}-{self.manifest.fingerprint}"
            self._arrays[name] = cached_array(key, build) if (self.caches and shared) else build()
        return self._arrays[name]

    def derived_rows(self, name: str, chunks: Callable[[], Iterable[np.ndarray]], shared: bool = True) -> np.ndarray:
        """As derived, for an array of one row per sample built from chunks() (consecutive blocks of rows):
        cached, it is written block by block and never whole in memory."""
        if name not in self._arrays:
            key = f"{name}-{self.manifest.fingerprint}"
            rows = self.manifest.rows
            self._arrays[name] = (cached_rows(key, rows, chunks) if (self.caches and shared)
                                  else filled_rows(rows, chunks()))
        return self._arrays[name]


def manifest_images(manifest: Manifest, size: int) -> np.ndarray:
    """A manifest's images at size x size, decoded chunk by chunk into storage's cache (memory-mapped): the entry a
    search of the same data made, when there is one (``export --model`` retrains on it)."""
    return cached_rows(f"images-{size}-{manifest.fingerprint}", manifest.rows,
                       lambda: image_chunks(manifest.image_paths, size))


def chunked_descriptors(images: np.ndarray) -> np.ndarray:
    """image_descriptors of every image, read a chunk of rows at a time (a memory-mapped cache's pages never
    all resident)."""
    return np.concatenate([image_descriptors(chunk) for chunk in row_chunks(images)]) if len(images) else (
        image_descriptors(images))


def row_chunks(array: np.ndarray, rows: int | None = None) -> Iterator[np.ndarray]:
    """Consecutive blocks of an array's rows, each read on its own (storage.read_rows: a cache entry's pages
    are not kept mapped), about CHUNK_BYTES each unless ``rows`` is given."""
    rows = rows or chunk_rows(array[0].nbytes if len(array) else 1)
    for start in range(0, len(array), rows):
        yield read_rows(array, np.arange(start, min(start + rows, len(array))))


def prepare_data(data: Any, k: int, fold_seed: int, image_sizes: tuple[int, ...] = (), caches: bool = True,
                 spec: ManifestSpec = ManifestSpec(), holdout: float = 0.0) -> SearchData:
    """Read and check everything up front, so bad input fails before any study is touched. ``holdout``: the
    share of rows (stratified, whole groups) set aside from the search, fold id -1."""
    manifest = read_manifest(data, spec)
    held_out = holdout_mask(manifest.labels, holdout, fold_seed, manifest.groups)
    folds = assign_folds(manifest.labels, k, fold_seed, manifest.groups, held_out, manifest.class_names)
    prepared = SearchData(manifest, folds, fold_seed, caches, holdout)
    for size in image_sizes:
        prepared.images(size)
    return prepared
