"""Training one fold: preprocessing sees only the training fold, AUC is taken on the whole validation fold."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fusion_search.data import NumericScaler
from fusion_search.designs import Design
from fusion_search.trainers import FoldData, fold_auc, train_fold

DESIGN = Design(fusion="numeric_only", numeric_units=8, numeric_width=8, head_units=8, epochs=4, patience=0,
                batch_size=16, lr_numeric=1e-2, lr_fusion=1e-2)


def _numeric_data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 3)).astype(np.float32)
    labels = (numeric[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.int8)
    return FoldData(None, numeric, labels)


def test_scaler_statistics_come_from_the_rows_it_is_fit_on():
    numeric = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]], dtype=np.float32)
    scaler = NumericScaler.fit(numeric[:2])
    assert scaler.medians.tolist() == [2.0, 4.0]
    transformed = scaler.transform(numeric[:2])
    assert np.allclose(transformed.mean(axis=0), 0.0) and np.isfinite(transformed).all()


def test_validation_values_do_not_leak_into_preprocessing():
    """Change half the validation rows wildly: the other half's scores must not move at all."""
    data = _numeric_data()
    train_idx, val_idx = np.arange(60), np.arange(60, 90)
    before = train_fold(DESIGN, data, train_idx, val_idx, seed=5)
    poisoned = data.numeric.copy()
    poisoned[val_idx[:15]] = 1e4
    after = train_fold(DESIGN, FoldData(None, poisoned, data.labels), train_idx, val_idx, seed=5)
    assert np.array_equal(before.scores[15:], after.scores[15:])
    assert not np.array_equal(before.scores[:15], after.scores[:15])


def test_auc_is_taken_on_the_whole_validation_fold():
    data = _numeric_data()
    train_idx, val_idx = np.arange(53), np.arange(53, 90)  # 37 rows: not a multiple of the batch size
    result = train_fold(DESIGN, data, train_idx, val_idx, seed=1)
    assert result.scores.shape == (37,)
    assert result.auc == pytest.approx(roc_auc_score(data.labels[val_idx], result.scores))
    assert result.auc > 0.7  # the label follows column 0: a trained model ranks it


def test_batch_averaged_auc_differs_from_whole_fold_auc():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    by_batch = np.mean([roc_auc_score(labels[i:i + 4], scores[i:i + 4]) for i in (0, 4)])
    assert fold_auc(labels, scores) == pytest.approx(0.625)
    assert by_batch == pytest.approx(0.75)


def test_a_diverged_model_scores_chance_not_an_error():
    assert fold_auc(np.array([0, 1]), np.array([np.nan, 0.3])) == 0.5


def test_same_seed_gives_the_same_scores():
    data = _numeric_data()
    first = train_fold(DESIGN, data, np.arange(60), np.arange(60, 90), seed=9)
    second = train_fold(DESIGN, data, np.arange(60), np.arange(60, 90), seed=9)
    assert np.array_equal(first.scores, second.scores)


def test_reusing_the_compiled_model_across_folds_changes_no_score():
    """Folds reuse one traced model (weights, dropout seeds and optimizer reset): same numbers as new models."""
    import fusion_search.trainers._neural as train

    rng = np.random.default_rng(2)
    images = rng.integers(0, 255, (90, 16, 16, 3), dtype=np.uint8)
    data = FoldData(images, _numeric_data().numeric, _numeric_data().labels)
    design = Design(fusion="concat", backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3,
                    epochs=3, patience=2, image_units=8, numeric_units=8, head_units=8, image_norm="batch",
                    image_dropout=0.3, batch_size=16)
    folds = [(np.arange(90)[np.arange(90) % 3 != f], np.arange(90)[np.arange(90) % 3 == f]) for f in range(3)]
    reused = [train.train_fold(design, data, tr, va, seed=f).scores for f, (tr, va) in enumerate(folds)]
    fresh = []
    for f, (tr, va) in enumerate(folds):
        train._REUSED.clear()
        fresh.append(train.train_fold(design, data, tr, va, seed=f).scores)
    assert np.allclose(np.concatenate(reused), np.concatenate(fresh), atol=1e-6)
