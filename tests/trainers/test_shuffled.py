"""The shuffled control's data: one modality's rows put in another order, everything else as it was; images are
read through the order lazily, as the trainers read them anyway."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.storage import cached_array
from fusion_search.study._control import shuffled_order
from fusion_search.trainers import FoldData

ROWS = 40


def data(images: np.ndarray | None = None) -> FoldData:
    rows = np.arange(ROWS)
    images = np.repeat(rows, 4 * 4 * 3).reshape(ROWS, 4, 4, 3).astype(np.uint8) if images is None else images
    return FoldData(images=images, numeric=np.stack([rows, -rows], axis=1).astype(np.float32),
                    labels=(rows % 2).astype(np.int8), groups=rows.astype(str),
                    categorical=rows.astype(str).astype(object)[:, None])


def test_the_order_permutes_rows_within_each_fold_only_and_leaves_held_out_rows():
    folds = np.repeat([0, 1, 2, -1], 10)
    order = shuffled_order(folds, fold_seed=3, repeat=0)
    assert np.array_equal(folds[order], folds)  # every row's new values come from its own fold
    assert sorted(order) == list(range(ROWS)) and np.array_equal(order[30:], np.arange(30, ROWS))
    assert np.mean(order[:30] != np.arange(30)) > 0.7
    assert np.array_equal(order, shuffled_order(folds, 3, 0)) and not np.array_equal(order, shuffled_order(folds, 3, 1))


def test_shuffling_the_table_moves_whole_table_rows_and_nothing_else():
    original = data()
    order = np.random.default_rng(0).permutation(ROWS)
    shuffled = original.shuffled("table", order)
    assert np.array_equal(shuffled.numeric[:, 0], order) and np.array_equal(shuffled.numeric[:, 1], -order)
    assert np.array_equal(shuffled.categorical[:, 0].astype(int), order)  # a row's categories move with it
    for name in ("images", "labels", "groups"):
        assert np.array_equal(getattr(shuffled, name), getattr(original, name))


def test_shuffled_images_of_a_memory_mapped_cache_are_read_row_by_row_through_the_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    images = cached_array("shuffle-test", lambda: data().images)
    assert isinstance(images, np.memmap)
    order = np.random.default_rng(1).permutation(ROWS)
    shuffled = data(images).shuffled("image", order)
    assert shuffled.images.shape == images.shape and len(shuffled.images) == ROWS and shuffled.images.ndim == 4
    assert shuffled.images[5][0, 0, 0] == order[5]
    assert np.array_equal(shuffled.images[[3, 7]][:, 0, 0, 0], order[[3, 7]])
    assert np.array_equal(shuffled.images[10:13][:, 0, 0, 0], order[10:13])
    assert np.array_equal(np.asarray(shuffled.images, dtype=np.float32)[:, 0, 0, 0], order)
    assert np.array_equal(shuffled.numeric, data().numeric) and np.array_equal(shuffled.labels, data().labels)


def test_an_unknown_modality_is_refused():
    with pytest.raises(ValueError, match="unknown modality 'text'"):
        data().shuffled("text", np.arange(ROWS))
