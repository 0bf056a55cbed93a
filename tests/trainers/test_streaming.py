"""A fold trains and scores from the cached images batch by batch: the fold's images are never copied whole."""

from __future__ import annotations

import numpy as np

from fusion_search.data import fold_indices, prepare_data
from fusion_search.designs import Design
from fusion_search.models import SCORING_BATCH, RowBatches
from fusion_search.trainers import fold_data, train_fold

DESIGN = Design(fusion="concat", backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3, epochs=2,
                patience=2, batch_size=8, numeric_layers=1, numeric_width=8, head_layers=1, head_units=8)


def test_training_and_scoring_read_the_cache_entry_one_batch_at_a_time(demo_manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    data = prepare_data(demo_manifest, k=3, fold_seed=0, image_sizes=(16,))
    fold = fold_data(data, DESIGN)
    assert isinstance(fold.images, np.memmap)
    read: list[tuple[int, bool]] = []  # (rows in the batch, read from the cache entry itself)
    original = RowBatches.__getitem__

    def spy(self, index):
        batch = original(self, index)
        read.append((len(batch[0]["image"]), self.inputs["image"] is fold.images))
        return batch

    monkeypatch.setattr(RowBatches, "__getitem__", spy)
    train, val = fold_indices(data.folds, 0)
    result = train_fold(DESIGN, fold, train, val, seed=0)
    assert len(result.scores) == len(val) and 0.0 <= result.auc <= 1.0
    assert read and all(from_entry for _, from_entry in read)
    assert max(rows for rows, _ in read) <= max(DESIGN.batch_size, SCORING_BATCH)
    assert sum(rows for rows, _ in read) >= len(train) + len(val)  # the fold went through the batches


def test_a_fold_scores_the_same_whether_images_are_cached_or_in_memory(demo_manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    train, val = fold_indices(prepare_data(demo_manifest, k=3, fold_seed=0).folds, 1)
    scores = []
    for caches in (True, False):
        data = prepare_data(demo_manifest, k=3, fold_seed=0, caches=caches)
        scores.append(train_fold(DESIGN, fold_data(data, DESIGN), train, val, seed=4).scores)
    assert np.allclose(scores[0], scores[1], atol=1e-6)
