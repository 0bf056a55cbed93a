"""Networks start where their training rows are: the output bias at the training rows' log-odds, a from-scratch
backbone's pixels standardised with the training rows' statistics (never the validation rows'), and early stopping
that cannot keep a prior-fitting epoch on data too small to judge one: there, folds of the training rows choose the
number of epochs (nor stop trees on a handful of rows)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from fusion_search.designs import Design
from fusion_search.models import TrainingRowStats, build_model
from fusion_search.trainers import FoldData, fit_trees
from fusion_search.trainers._trees import FIXED_ITER
from fusion_search.trainers._neural import _early_stopping_split, epochs_by_inner_folds, fit_model, training_row_stats

SMALL = dict(backbone="small_cnn", weights="none", image_size=8, trainable_blocks=3, image_units=4,
             numeric_units=4, fusion_units=4, head_units=4, numeric_width=4, epochs=1, batch_size=8)


def fold_data(rows: int = 40, positives: int = 10, seed: int = 0) -> FoldData:
    rng = np.random.default_rng(seed)
    labels = np.array([1] * positives + [0] * (rows - positives))
    images = rng.integers(0, 256, size=(rows, 8, 8, 3), dtype=np.uint8)
    return FoldData(images, rng.normal(size=(rows, 2)).astype(np.float32), labels)


@pytest.mark.parametrize("fusion", ["image_only", "concat", "late"])
def test_every_output_unit_starts_at_the_given_log_odds(fusion):
    model = build_model(Design(fusion=fusion, late_aux_weight=0.1, **SMALL), 2, stats=TrainingRowStats(log_odds=-1.25))
    output_units = [layer for layer in model.layers if layer.name.endswith("_logit")]
    assert len(output_units) == (2 if fusion == "late" else 1)
    for layer in output_units:
        assert float(np.asarray(layer.bias)[0]) == pytest.approx(-1.25)


def test_the_log_odds_are_the_fit_rows_and_class_weights_balance_them_to_zero():
    data = fold_data(rows=40, positives=10)
    rows = np.arange(40)
    assert training_row_stats(Design(fusion="numeric_only"), data, rows, None).log_odds == pytest.approx(
        math.log(10 / 30))
    weights = np.where(data.labels == 1, 40 / 20, 40 / 60).astype(np.float32)  # balanced: n / (2 * class count)
    assert training_row_stats(Design(fusion="numeric_only"), data, rows, weights).log_odds == pytest.approx(0.0, abs=1e-6)


def test_pixel_statistics_come_from_the_training_rows_only():
    data = fold_data(rows=40)
    data.images[:30] = np.array([10, 20, 30], dtype=np.uint8)  # training rows: one flat colour
    data.images[30:] = 250  # validation rows: far brighter
    stats = training_row_stats(Design(fusion="image_only", **SMALL), data, np.arange(30), None)
    assert stats.pixel_mean == pytest.approx((10, 20, 30))
    assert stats.pixel_std == pytest.approx((1.0, 1.0, 1.0))  # a flat channel's spread is held at one grey level


def test_the_trained_model_carries_its_training_rows_pixel_statistics():
    data = fold_data(rows=40)
    train = np.arange(30)
    fitted = fit_model(Design(fusion="image_only", patience=0, **SMALL), data, train, seed=0)
    layer = fitted.model.get_layer("pixel_standardize")
    expected = data.images[train].reshape(-1, 3).astype(float)
    assert np.asarray(layer.mean) == pytest.approx(expected.mean(0), rel=1e-5)
    assert np.asarray(layer.std) == pytest.approx(expected.std(0), rel=1e-4)


def test_the_descriptors_are_standardised_with_the_training_rows_statistics_inside_the_model():
    from dataclasses import replace

    data = fold_data(rows=40)
    rng = np.random.default_rng(1)
    features = np.column_stack([rng.normal(0.5, 0.01, 40), rng.normal(0.0, 3.0, 40), np.full(40, 0.2)])
    features[30:] += 100.0  # validation rows: far off, and never in the statistics
    data = replace(data, image_features=features.astype(np.float32))
    design = Design(fusion="image_only", backbone="descriptors", patience=0, **{k: v for k, v in SMALL.items()
                                                                               if k != "backbone"})
    train = np.arange(30)
    stats = training_row_stats(design, data, train, None)
    assert stats.feature_mean == pytest.approx(features[:30].mean(0), rel=1e-5)
    assert stats.feature_std == pytest.approx([*features[:30, :2].std(0), 1e-3], rel=1e-4)  # a constant: held at 1e-3
    layer = fit_model(design, data, train, seed=0).model.get_layer("image_standardize")
    standardised = np.asarray(layer(features[:30].astype(np.float32)))
    assert standardised[:, :2].mean(0) == pytest.approx([0.0, 0.0], abs=1e-4)
    assert standardised[:, :2].std(0) == pytest.approx([1.0, 1.0], rel=1e-3)
    assert training_row_stats(Design(fusion="numeric_only"), data, train, None).feature_mean is None


def test_pretrained_and_file_weights_keep_their_own_preprocessing():
    data = fold_data(rows=40)
    assert training_row_stats(Design(fusion="image_only", **{**SMALL, "weights": "w.weights.h5"}), data,
                              np.arange(30), None).pixel_mean is None
    assert training_row_stats(Design(fusion="image_only", backbone="vgg16", weights="imagenet"), data,
                              np.arange(30), None).pixel_mean is None


def test_a_stopping_slice_with_too_few_rows_of_a_class_gives_way_to_a_fixed_budget_on_every_training_row():
    small, large = fold_data(rows=80, positives=30), fold_data(rows=400, positives=150)
    design = Design(fusion="image_only", patience=5, **{k: v for k, v in SMALL.items()})
    fit_rows, stop_rows = _early_stopping_split(design, small, np.arange(80), seed=0)
    assert len(stop_rows) == 0 and len(fit_rows) == 80  # 15% of 80 rows: about 5 positives, too few to rank
    fit_rows, stop_rows = _early_stopping_split(design, large, np.arange(400), seed=0)
    assert np.bincount(large.labels[stop_rows]).min() >= 10 and len(fit_rows) + len(stop_rows) == 400


def test_trees_stop_on_a_slice_only_where_the_training_rows_allow_one():
    small, large = fold_data(rows=80, positives=30), fold_data(rows=400, positives=150)
    design = Design(fusion="gbdt_only")
    few = fit_trees(design, small.numeric, small.labels, np.arange(80), seed=0)
    assert not few.do_early_stopping_ and few.n_iter_ == FIXED_ITER  # every row fits, scikit-learn's default budget
    many = fit_trees(design, large.numeric, large.labels, np.arange(400), seed=0)
    assert many.do_early_stopping_


def test_without_a_slice_the_epochs_are_chosen_by_folds_of_the_training_rows_alone():
    data = fold_data(rows=60, positives=20, seed=1)
    data.numeric[:, 0] += 1.5 * data.labels  # a signal the network can learn
    train, validation = np.arange(45), np.arange(45, 60)
    design = Design(fusion="numeric_only", patience=5, epochs=6, **{k: v for k, v in SMALL.items() if k != "epochs"})
    assert len(_early_stopping_split(design, data, train, seed=0)[1]) == 0  # too few rows for a slice
    chosen = epochs_by_inner_folds(design, data, train, seed=0)
    assert 1 <= chosen <= 6
    data.labels[validation] = 1 - data.labels[validation]  # the rows it must never read
    data.numeric[validation] = 100.0
    assert epochs_by_inner_folds(design, data, train, seed=0) == chosen
    assert fit_model(design, data, train, seed=0).epochs == chosen  # then trains that many on every training row


def test_the_epochs_that_rank_held_rows_best_are_chosen(monkeypatch):
    from fusion_search.trainers import _neural

    curves = iter([[0.5, 0.7, 0.6, 0.55], [0.5, 0.6, 0.8, 0.5], [0.6, 0.65, 0.7, 0.5]])  # mean: 0.53 0.65 0.70 0.52
    monkeypatch.setattr(_neural, "_fit", lambda *args, **kwargs: (None, next(curves)))
    data = fold_data(rows=60, positives=20)
    design = Design(fusion="numeric_only", patience=5, epochs=4)
    assert epochs_by_inner_folds(design, data, np.arange(60), seed=0) == 3


def test_inner_folds_that_would_hold_one_class_are_left_out_and_none_left_means_the_fixed_budget():
    data = replace(fold_data(rows=60, positives=20), groups=np.repeat(np.arange(6), 10))  # groups 0-1: positives
    design = Design(fusion="numeric_only", patience=5, epochs=4, **{k: v for k, v in SMALL.items() if k != "epochs"})
    chosen = epochs_by_inner_folds(design, data, np.arange(60), seed=0)
    assert 1 <= chosen <= 4
    data = replace(data, groups=np.repeat(np.arange(3), 20))  # three groups, one all positive: a class always out
    assert epochs_by_inner_folds(design, data, np.arange(60), seed=0) == 4


def test_an_inner_model_that_diverges_is_left_out_and_all_diverging_means_the_fixed_budget(monkeypatch):
    from fusion_search.trainers import Diverged, _neural

    def fit(curves):
        def _fit(*args, **kwargs):
            curve = next(curves)
            if curve is None:
                raise Diverged("the training loss became NaN or infinite in epoch 2")
            return None, curve
        return _fit

    data, design = fold_data(rows=60, positives=20), Design(fusion="numeric_only", patience=5, epochs=4)
    monkeypatch.setattr(_neural, "_fit", fit(iter([None, [0.5, 0.6, 0.8, 0.5], [0.6, 0.9, 0.7, 0.5]])))
    assert epochs_by_inner_folds(design, data, np.arange(60), seed=0) == 2  # mean of the two that trained
    monkeypatch.setattr(_neural, "_fit", fit(iter([None, None, None])))
    assert epochs_by_inner_folds(design, data, np.arange(60), seed=0) == 4


def test_seven_classes_on_a_small_training_fold_train_without_a_slice_instead_of_failing_to_split():
    from fusion_search.trainers._fold import early_stopping_slice

    labels = np.arange(30) % 7  # 15% of 30 rows: 5 rows, fewer than the classes
    fit_rows, stop_rows = early_stopping_slice(labels, np.arange(30), seed=0)
    assert len(stop_rows) == 0 and len(fit_rows) == 30


def test_a_two_class_slice_is_steady_exactly_when_each_class_has_ten_rows():
    from fusion_search.trainers._fold import MIN_STOPPING_CLASS_ROWS, slice_is_steady

    for rare in range(1, 60):
        for common in range(rare, 120):
            assert slice_is_steady([rare, common]) == (rare >= MIN_STOPPING_CLASS_ROWS), (rare, common)


def test_k_classes_need_a_macro_auc_as_steady_as_the_two_class_rule_not_ten_rows_of_every_class():
    from fusion_search.trainers._fold import slice_is_steady, stopping_score_spread

    # a 48-row slice of the four-class verdict bench (400 rows, 5 folds): its rarest class holds 8 rows
    assert stopping_score_spread([8, 16, 15, 9]) < stopping_score_spread([10, 38])
    assert slice_is_steady([8, 16, 15, 9])
    assert not slice_is_steady([2, 20, 16, 10])  # one class of two rows: the average is too noisy
    assert not slice_is_steady([0, 20, 18, 10])  # a class absent from the slice ranks nothing
    assert not slice_is_steady([47, 8, 8, 3, 2, 1, 1])  # seven skewed classes (HAM10000's shape) in 70 rows


def test_four_classes_of_four_hundred_rows_stop_on_a_slice_instead_of_inner_folds():
    from fusion_search.trainers._fold import early_stopping_slice

    labels = np.repeat([0, 1, 2, 3], [64, 129, 119, 88])  # the class counts of a four-class verdict bench study
    rows = np.random.default_rng(0).permutation(400)[:320]  # a training fold of five
    fit_rows, stop_rows = early_stopping_slice(labels, rows, seed=0)
    assert len(stop_rows) == 48 and np.bincount(labels[stop_rows]).min() < 10
    assert sorted([*fit_rows, *stop_rows]) == sorted(rows)
