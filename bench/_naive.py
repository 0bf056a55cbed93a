"""The naive search the service is measured against: what the question's author would write.

Every fold of every trial decodes the JPEG/PNG files again and runs the (frozen) backbone again;
no caches, no pruning. Same designs, same folds, same seeds as the service.
"""

from __future__ import annotations

from search._dataset import SearchData


class NaiveSearchData(SearchData):
    """SearchData that forgets: images decoded from the files on every request, no feature cache."""

    def images(self, size: int):
        from search._images import decode_images

        return decode_images(self.manifest.image_paths, size)

    def uses_feature_cache(self, design) -> bool:
        return False
