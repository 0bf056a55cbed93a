"""The naive search the service is measured against: what the question's author would write.

Every fold of every trial decodes the JPEG/PNG files again and runs the (frozen) backbone again;
no caches, no pruning. Same designs, same folds, same seeds as the service.
"""

from __future__ import annotations

from fusion_search.data import SearchData


class NaiveSearchData(SearchData):
    """SearchData that forgets: images (and anything derived) computed again on every request. Built with
    caches=False, so no trial reads frozen-backbone features from the cache either."""

    def derived(self, name, build, shared=True):
        return build()
