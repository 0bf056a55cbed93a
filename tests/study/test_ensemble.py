"""Ensemble selection: Caruana's greedy forward selection on a hand-made score matrix, and which side of the
verdict an ensemble counts on."""

from __future__ import annotations

from collections import Counter

import numpy as np
import optuna
import pytest

from fusion_search.study import is_baseline_role, roles
from fusion_search.study._ensemble import CANDIDATES, blend, greedy_selection, side_of, study_ensembles
from fusion_search.study._oof import LABELS_KEY, SCORES_KEY

LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
A = [0.10, 0.20, 0.30, 0.40, 0.90, 0.80, 0.70, 0.35]  # one discordant pair (the last positive): AUC 15/16
B = [0.92, 0.10, 0.10, 0.10, 0.95, 0.90, 0.90, 0.90]  # the first negative above three positives: AUC 13/16
C = [0.50] * 8  # no information


def test_greedy_selection_makes_caruanas_choices_on_a_hand_made_matrix():
    """Round 1 takes A, the best alone. Round 2: A+C ranks as A (15/16), A+A too, but A+B ranks every positive
    above every negative (mean logits: positives >= 0.79, negatives <= 0.12), so B. Later rounds cannot beat 1.0,
    and the first prefix that reached it is kept."""
    picks, auc = greedy_selection(np.array([C, B, A]), LABELS)
    assert picks == Counter({2: 1, 1: 1}) and auc == 1.0


def test_the_blend_averages_logits_weighted_by_picks():
    mixed = blend(np.array([[0.9, 0.2], [0.5, 0.5]]), np.array([3, 1]))
    expected = 1 / (1 + np.exp(-(3 * np.log(9) + 0) / 4)), 1 / (1 + np.exp(-(3 * np.log(0.25)) / 4))
    np.testing.assert_allclose(mixed, expected)


@pytest.mark.parametrize("fusions, side", [
    ({"image_only"}, "image"),
    ({"numeric_only", "gbdt_only"}, "numeric"),  # networks and trees on the numbers alone: still one modality
    ({"image_only", "numeric_only"}, "fusion"),  # averaging the two modalities is late fusion
    ({"image_only", "gbdt_on_embedding"}, "fusion"),
])
def test_an_ensemble_is_a_baseline_when_its_members_see_one_modality(fusions, side):
    assert side_of(fusions) == side


def made_study(trials: list[tuple[str, list[float]]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    study._storage.set_study_system_attr(study._study_id, LABELS_KEY, LABELS.tolist())
    choices = optuna.distributions.CategoricalDistribution(["image_only", "numeric_only", "gbdt_only", "concat"])
    for fusion, scores in trials:
        auc = float(np.mean([s > n for s in np.array(scores)[LABELS == 1] for n in np.array(scores)[LABELS == 0]]))
        study.add_trial(optuna.trial.create_trial(
            params={"fusion": fusion}, distributions={"fusion": choices}, value=auc,
            user_attrs={"fusion": fusion, "fold_aucs": [auc], "oof_auc": auc}, system_attrs={SCORES_KEY: scores}))
    return study


def test_a_study_gets_an_ensemble_per_side_classed_by_its_members():
    study = made_study([("image_only", A), ("image_only", B), ("numeric_only", C), ("gbdt_only", B[::-1])])
    found = {e.side: e for e in study_ensembles(study)}
    assert found["image"].members == {0: 1, 1: 1} and found["image"].oof_auc == 1.0
    assert "numeric" not in found  # its best blend is one trial: no ensemble to add
    assert "fusion" not in found  # the best blend of all the trials uses images only: that is no fusion design


def test_a_fusion_ensemble_that_beats_the_best_fusion_design_is_the_candidate_and_the_design_is_kept_beside_it():
    """image_only A and numeric_only B blend to AUC 1.0, above concat's 0.75 out of fold: the mixed ensemble is
    the one fusion candidate, the concat trial is confirmed as fusion:design, and neither is a reference."""
    concat = [0.2, 0.6, 0.3, 0.1, 0.5, 0.7, 0.2, 0.9]
    study = made_study([("image_only", A), ("numeric_only", B), ("concat", concat)])
    wanted = roles(study)
    assert wanted["fusion"] == {0: 1, 1: 1} and wanted["fusion:design"] == {2: 1}
    assert wanted["image_only"] == {0: 1} and wanted["numeric_only"] == {1: 1}
    assert sorted(role for role in wanted if is_baseline_role(role)) == ["image_only", "numeric_only"]


def test_each_side_draws_its_ensemble_from_its_own_trials_not_from_the_overall_top():
    """More perfect concat trials than CANDIDATES fill the overall top; the two image-only trials below them still
    make the image side's ensemble, so the fusion side never stands without its single-modality counterpart."""
    perfect = [0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9]
    study = made_study([("concat", perfect)] * (CANDIDATES + 1) + [("image_only", A), ("image_only", B)])
    found = {e.side: e for e in study_ensembles(study)}
    assert found["image"].members == {CANDIDATES + 1: 1, CANDIDATES + 2: 1} and found["image"].oof_auc == 1.0


def test_the_blend_of_class_probabilities_is_the_logit_blend_at_two_classes():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, size=(3, 50))
    weights = np.array([2.0, 1.0, 0.0])
    two_classes = blend(np.stack([1 - p, p], axis=-1), weights)
    np.testing.assert_allclose(two_classes[:, 1], blend(p, weights), atol=1e-12)
    np.testing.assert_allclose(two_classes.sum(axis=1), 1.0, atol=1e-12)


def test_greedy_selection_on_three_classes_picks_the_member_that_tells_them_apart():
    from scipy.special import softmax

    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 300)
    informative = softmax(rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[labels], axis=1)
    noise = softmax(rng.normal(size=(2, 300, 3)), axis=-1)
    picks, auc = greedy_selection(np.concatenate([noise, informative[None]]), labels)
    assert picks.most_common(1)[0][0] == 2 and auc > 0.8
