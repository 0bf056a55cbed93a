"""Training the fusion designs: per-group learning rates, late fusion's auxiliary losses, class weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fusion_search.designs import Design
from fusion_search.models import build_model, loss_spec, make_optimizer, model_inputs
from fusion_search.trainers._neural import class_sample_weights
from tests.models.fusion_checks import one_training_batch, tiny_data, tiny_design, variable_group

GROUPS = ["backbone", "image", "numeric", "fusion"]


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_with_learning_rate_zero_stays_bit_identical_while_the_others_move(group):
    # weight decay on: AdamW's decay is scaled by the learning rate, so it must not move the frozen group either
    design = tiny_design("multiply", **{f"lr_{group}": 0.0, "weight_decay": 0.05})
    images, numeric, labels = tiny_data()
    keras.utils.set_random_seed(0)
    model = build_model(design, numeric.shape[1])
    model.compile(optimizer=make_optimizer(design), loss="binary_crossentropy", jit_compile=False)
    before = {v.path: keras.ops.convert_to_numpy(v.value).copy() for v in model.trainable_variables}
    for _ in range(3):
        model.train_on_batch(model_inputs(model, images, numeric), labels)
    moved = {v.path: not np.array_equal(before[v.path], keras.ops.convert_to_numpy(v.value))
             for v in model.trainable_variables}
    assert not any(changed for path, changed in moved.items() if variable_group(path) == group)
    for other in set(GROUPS) - {group}:
        assert all(changed for path, changed in moved.items() if variable_group(path) == other), other


def test_late_fusion_auxiliary_losses_add_each_branch_loss_with_their_weight():
    design = tiny_design("late", late_aux_weight=0.1)
    images, numeric, labels = tiny_data()
    keras.utils.set_random_seed(0)
    model = build_model(design, numeric.shape[1])
    model.compile(optimizer=make_optimizer(design), jit_compile=False, **loss_spec(model, design))
    losses = model.evaluate(*one_training_batch(model, images, numeric, labels), return_dict=True, verbose=0)
    branches = losses["fusion_image_score_loss"] + losses["fusion_numeric_score_loss"]
    assert losses["loss"] == pytest.approx(losses["score_loss"] + 0.1 * branches, rel=1e-5)


def test_late_fusion_without_auxiliary_weight_has_one_output():
    model = build_model(tiny_design("late"), 3)
    assert len(model.outputs) == 1


def test_balanced_class_weights_give_each_class_the_same_total_weight():
    labels = np.array([0] * 9 + [1] * 3)
    weights = class_sample_weights(Design(class_weight="balanced"), labels)
    assert weights[labels == 0].sum() == pytest.approx(weights[labels == 1].sum())
    assert weights.sum() == pytest.approx(len(labels))  # scikit-learn's "balanced": n / (2 * class count)
    assert class_sample_weights(Design(), labels) is None


def test_train_fold_honours_balanced_class_weights_on_imbalanced_labels():
    """With 1 positive in 8, unweighted training scores near the prior (1/8); balanced weighting pulls toward 1/2."""
    from fusion_search.trainers import FoldData, train_fold

    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(160, 3)).astype("float32")
    labels = (np.arange(160) % 8 == 0).astype(int)  # label independent of the columns: only the prior is learnable
    design = Design(fusion="numeric_only", numeric_units=8, numeric_width=8, head_units=8, epochs=15, patience=0,
                    batch_size=32, lr_numeric=1e-2, lr_fusion=1e-2)
    mean_score = {weighting: train_fold(Design(**{**design.to_params(), "class_weight": weighting}),
                                        FoldData(None, numeric, labels), np.arange(120), np.arange(120, 160),
                                        seed=0).scores.mean() for weighting in ("none", "balanced")}
    assert mean_score["none"] < 0.2 < 0.28 < mean_score["balanced"]  # measured: 0.12 and 0.34
