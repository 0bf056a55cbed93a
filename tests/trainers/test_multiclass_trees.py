"""The tree baseline on K >= 3 classes: one probability column per class, scored by the macro one-vs-rest AUC;
two classes keep one score per row."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.data import assign_folds, fold_indices
from fusion_search.designs import Design
from fusion_search.trainers import FoldData, class_aucs, fold_auc, train_fold

DESIGN = Design(fusion="gbdt_only", gbdt_min_samples_leaf=10, gbdt_max_leaf_nodes=8, gbdt_learning_rate=0.1)


def _table(classes: int, rows: int = 450, seed: int = 0) -> FoldData:
    """Class k lives around k on the first column; the second column tells class 2 from the others only."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    numbers = np.column_stack([labels + rng.normal(0, 0.6, rows), (labels == 2) + rng.normal(0, 0.5, rows),
                               rng.normal(size=rows)]).astype(np.float32)
    return FoldData(None, numbers, labels)


@pytest.mark.parametrize("classes", [3, 5])
def test_gbdt_only_gives_a_probability_per_class_and_the_macro_auc(classes):
    data = _table(classes)
    train, val = fold_indices(assign_folds(data.labels, 3, seed=0), 0)
    result = train_fold(DESIGN, data, train, val, seed=0)
    assert result.scores.shape == (len(val), classes)
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, atol=1e-9)
    assert result.auc == fold_auc(data.labels[val], result.scores) > 0.8
    assert class_aucs(data.labels[val], result.scores).min() > 0.7  # every class is told from the rest


def test_two_classes_keep_one_score_per_row():
    data = _table(2)
    train, val = fold_indices(assign_folds(data.labels, 3, seed=0), 0)
    assert train_fold(DESIGN, data, train, val, seed=0).scores.shape == (len(val),)
