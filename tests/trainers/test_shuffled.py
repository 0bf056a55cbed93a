"""The shuffled control's data: one modality's values permuted among the given rows, everything else as it was."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.trainers import FoldData

ROWS = 40


def data() -> FoldData:
    rows = np.arange(ROWS)
    return FoldData(images=np.repeat(rows, 4 * 4 * 3).reshape(ROWS, 4, 4, 3).astype(np.uint8),
                    numeric=np.stack([rows, -rows], axis=1).astype(np.float32), labels=(rows % 2).astype(np.int8),
                    groups=rows.astype(str), categorical=rows.astype(str).astype(object)[:, None])


def test_shuffling_the_table_moves_whole_table_rows_among_the_given_rows_only():
    original, search = data(), np.arange(30)  # rows 30-39 are held out
    shuffled = original.shuffled("table", search, seed=[0, 0, 7])
    source = shuffled.numeric[:, 0].astype(int)  # which row's table each row now has
    assert sorted(source[search]) == list(search) and np.any(source[search] != search)
    assert np.array_equal(source[30:], np.arange(30, ROWS))
    assert np.array_equal(shuffled.numeric[:, 1], -shuffled.numeric[:, 0])  # a row's columns move together
    assert np.array_equal(shuffled.categorical[:, 0].astype(int), source)  # with its categories
    for name in ("images", "labels", "groups"):
        assert np.array_equal(getattr(shuffled, name), getattr(original, name))


def test_shuffling_the_images_leaves_the_table_and_labels_and_is_the_same_for_the_same_seed():
    original, search = data(), np.arange(ROWS)
    shuffled = original.shuffled("image", search, seed=[3, 1, 7])
    source = shuffled.images[:, 0, 0, 0].astype(int)
    assert sorted(source) == list(search) and np.mean(source != search) > 0.8
    assert np.array_equal(shuffled.numeric, original.numeric) and np.array_equal(shuffled.labels, original.labels)
    assert np.array_equal(original.shuffled("image", search, seed=[3, 1, 7]).images, shuffled.images)
    assert not np.array_equal(original.shuffled("image", search, seed=[3, 2, 7]).images, shuffled.images)


def test_an_unknown_modality_is_refused():
    with pytest.raises(ValueError, match="unknown modality 'text'"):
        data().shuffled("text", np.arange(ROWS), seed=0)
