"""Networks on K >= 3 classes: K output units whose softmax starts at the training rows' class shares, trained on
sparse categorical cross-entropy, scored with one probability column per class; every neural design kind builds."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.data import assign_folds, fold_indices
from fusion_search.designs import Design
from fusion_search.models import TrainingRowStats, build_model, loss_spec, predict_scores
from fusion_search.models.fusion import registered_fusions
from fusion_search.trainers import FoldData, fold_auc, train_fold
from fusion_search.trainers._neural import training_row_stats

SMALL = dict(backbone="small_cnn", weights="none", image_size=8, trainable_blocks=3, image_units=4,
             numeric_units=4, fusion_units=4, head_units=4, numeric_width=4, epochs=1, batch_size=8,
             late_aux_weight=0.1)


def three_class_table(rows: int = 240, seed: int = 0) -> FoldData:
    """Class k around k on the first number; images carry nothing."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=rows, p=[0.5, 0.3, 0.2])
    numbers = np.column_stack([labels + rng.normal(0, 0.5, rows), rng.normal(size=rows)]).astype(np.float32)
    return FoldData(rng.integers(0, 256, size=(rows, 8, 8, 3), dtype=np.uint8), numbers, labels)


def test_the_softmax_starts_at_the_fit_rows_class_shares():
    data = three_class_table()
    stats = training_row_stats(Design(fusion="numeric_only"), data, np.arange(len(data.labels)), None)
    shares = np.bincount(data.labels, minlength=3) / len(data.labels)
    assert np.exp(stats.class_log_priors) == pytest.approx(shares)
    model = build_model(Design(fusion="numeric_only", numeric_layers=0, head_layers=0, **{
        k: v for k, v in SMALL.items() if k not in ("numeric_width",)}), 2, stats=stats)
    model.get_layer("numeric_output").kernel.assign(np.zeros((2, 4), np.float32))  # the input says nothing yet
    start = predict_scores(model, {"numeric": np.zeros((5, 2), np.float32)})
    assert start.shape == (5, 3) and start[0] == pytest.approx(shares, abs=1e-5)


@pytest.mark.parametrize("fusion", sorted(registered_fusions()))
def test_every_neural_design_builds_k_outputs_and_its_loss(fusion):
    stats = TrainingRowStats(class_log_priors=tuple(np.log([0.5, 0.3, 0.2])))
    model = build_model(Design(fusion=fusion, **SMALL), 2, stats=stats)
    score = model.output["score"] if isinstance(model.output, dict) else model.output
    assert score.shape[-1] == 3
    losses = loss_spec(model, Design(fusion=fusion, **SMALL))["loss"]
    assert set(losses.values() if isinstance(losses, dict) else [losses]) == {"sparse_categorical_crossentropy"}


def test_a_numeric_network_learns_three_classes_and_scores_each_one():
    data = three_class_table()
    train, val = fold_indices(assign_folds(data.labels, 3, seed=0), 0)
    design = Design(fusion="numeric_only", numeric_layers=0, head_layers=0, numeric_activation="linear",
                    numeric_units=8, epochs=30, patience=0, batch_size=32, lr_numeric=1e-2)
    result = train_fold(design, data, train, val, seed=0)
    assert result.scores.shape == (len(val), 3)
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, atol=1e-5)
    assert result.auc == pytest.approx(fold_auc(data.labels[val], result.scores)) and result.auc > 0.8


@pytest.mark.parametrize("fusion", ["stacked", "gbdt_on_embedding"])
def test_the_hybrid_designs_score_three_classes(fusion):
    data = three_class_table(rows=180)
    train, val = fold_indices(assign_folds(data.labels, 3, seed=0), 0)
    design = Design(fusion=fusion, stacked_inner_folds=2, embedding_dims=4, gbdt_max_leaf_nodes=4,
                    gbdt_min_samples_leaf=5, **{k: v for k, v in SMALL.items() if k != "late_aux_weight"})
    result = train_fold(design, data, train, val, seed=0)
    assert result.scores.shape == (len(val), 3)
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, atol=1e-9)
    assert result.auc > 0.75  # the numbers carry the classes; the trees read them beside the image scores


def test_a_reused_compiled_model_is_never_one_of_another_number_of_classes():
    """One process may train a binary study after a 7-class one (a notebook): the cached compiled model of the same
    design must not be reused with the wrong number of outputs."""
    from fusion_search.trainers._neural import fresh_compiled_model

    design = Design(fusion="numeric_only", **{k: v for k, v in SMALL.items() if k != "late_aux_weight"})
    seven = fresh_compiled_model(design, 2, None, (), TrainingRowStats(class_log_priors=(0.0,) * 7))
    two = fresh_compiled_model(design, 2, None, (), TrainingRowStats())
    inputs = {"numeric": np.zeros((3, 2), np.float32)}
    assert predict_scores(seven, inputs).shape == (3, 7) and predict_scores(two, inputs).shape == (3,)
