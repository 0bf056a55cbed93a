"""The trial metric: binary ROC AUC for one score per row; for K classes, the macro average of the one-vs-rest
AUCs, as scikit-learn computes it, on any monotone per-class score."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import roc_auc_score

from fusion_search.trainers import class_aucs, fold_auc


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=300, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(300, 3)) + 1.5 * np.eye(3)[labels] * np.array([1.0, 0.5, 0.1])
    return labels, softmax(logits, axis=1)


def test_the_macro_auc_is_scikit_learns_one_vs_rest_macro_average(three_classes):
    labels, probabilities = three_classes
    expected = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
    assert fold_auc(labels, probabilities) == pytest.approx(expected, abs=1e-12)


def test_each_class_auc_is_that_class_against_the_rest_and_they_differ(three_classes):
    labels, probabilities = three_classes
    aucs = class_aucs(labels, probabilities)
    assert aucs.tolist() == pytest.approx([roc_auc_score(labels == k, probabilities[:, k]) for k in range(3)])
    assert aucs[0] > aucs[2] + 0.1  # the planted signal is strongest for class 0


def test_log_probabilities_score_as_their_probabilities(three_classes):
    labels, probabilities = three_classes
    assert fold_auc(labels, np.log(probabilities)) == pytest.approx(fold_auc(labels, probabilities), abs=1e-12)


def test_one_score_per_row_is_the_binary_auc_and_a_diverged_model_scores_half():
    labels = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([0.1, 0.8, 0.3, 0.4, 0.9, 0.5])
    assert fold_auc(labels, scores) == roc_auc_score(labels, scores)
    assert fold_auc(labels, np.array([np.nan] * 6)) == 0.5
    assert fold_auc(np.array([0, 1, 2]), np.full((3, 3), np.inf)) == 0.5
