"""The verdict's statistics against published and hand-computed numbers."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fusion_search.results import corrected_ttest, delong_test

# pROC's aSAH data set (Turck et al. 2010: 113 patients after aneurysmal subarachnoid haemorrhage; outcome Poor
# = 1, the WFNS score and the S100B level) and pROC's own expected values for roc.test(r.wfns, r.s100b) from its
# test suite (tests/testthat/test-roc.test.R): Z = 2.20898359144091, p = 0.0271757822291882.
ASAH = Path(__file__).resolve().parent / "data" / "asah.csv"


def asah() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with ASAH.open() as handle:
        rows = list(csv.DictReader(handle))
    return tuple(np.array([float(row[c]) for row in rows]) for c in ("poor_outcome", "wfns", "s100b"))


def test_delong_matches_proc_on_the_asah_worked_example():
    outcome, wfns, s100b = asah()
    assert (len(outcome), int(outcome.sum())) == (113, 41)
    result = delong_test(outcome, wfns, s100b)
    assert result.auc_a == pytest.approx(0.823678861788618, abs=1e-12)
    assert result.auc_b == pytest.approx(0.731368563685637, abs=1e-12)
    assert result.z == pytest.approx(2.20898359144091, rel=1e-9)
    assert result.p == pytest.approx(0.0271757822291882, rel=1e-9)
    assert result.p_greater == pytest.approx(0.0271757822291882 / 2, rel=1e-9)  # one-sided: wfns is the higher


def test_delong_is_antisymmetric_and_its_aucs_are_scikit_learns():
    outcome, wfns, s100b = asah()
    forward, backward = delong_test(outcome, wfns, s100b), delong_test(outcome, s100b, wfns)
    assert backward.z == pytest.approx(-forward.z) and backward.p == pytest.approx(forward.p)
    assert backward.p_greater == pytest.approx(1 - forward.p_greater)
    assert forward.auc_a == pytest.approx(roc_auc_score(outcome, wfns))  # ties (wfns has 5 levels) count 1/2


def test_delong_of_one_score_against_itself_has_no_difference_to_test():
    outcome, wfns, _ = asah()
    result = delong_test(outcome, wfns, wfns)
    assert result.difference == 0 and math.isnan(result.p)


def test_delong_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        delong_test(np.ones(4), np.arange(4.0), np.arange(4.0))


def test_the_corrected_ttest_matches_a_hand_computed_case():
    # d = (0.02, 0.01, 0.03, 0.00, 0.04): mean 0.02, sample variance 0.001 / 4 = 0.00025.
    # 5 folds: n_test / n_train = 1/4, so t = 0.02 / sqrt((1/5 + 1/4) * 0.00025) = 0.02 / 0.0106066 = 1.885618,
    # with 4 degrees of freedom: two-sided p = 0.132419, one-sided 0.066209 (the plain paired t-test would say
    # t = 2.828, two-sided p = 0.047).
    result = corrected_ttest([0.82, 0.81, 0.83, 0.80, 0.84], [0.80] * 5, test_train_ratio=0.25)
    assert result.mean == pytest.approx(0.02) and result.wins == 4 and result.n == 5
    assert result.t == pytest.approx(1.885618, rel=1e-6)
    assert result.p == pytest.approx(0.132419, rel=1e-5) and result.p_greater == pytest.approx(0.066209, rel=1e-4)


def test_the_correction_makes_the_test_more_cautious_than_the_plain_paired_ttest():
    rng = np.random.default_rng(0)
    a, b = 0.75 + rng.normal(0, 0.02, 15), 0.74 + rng.normal(0, 0.02, 15)
    from scipy import stats

    assert corrected_ttest(a, b, test_train_ratio=0.25).p > stats.ttest_rel(a, b).pvalue


def test_identical_differences_cannot_be_tested():
    result = corrected_ttest([0.8, 0.8, 0.8], [0.7, 0.7, 0.7], test_train_ratio=0.5)
    assert math.isnan(result.p) and result.mean == pytest.approx(0.1)


def test_the_paired_bootstrap_agrees_with_delong_on_the_asah_worked_example():
    """pROC's roc.test(method="bootstrap") on the same pair gives D near DeLong's Z (2.21): the resampled spread of
    the difference estimates the same standard error."""
    from fusion_search.results import paired_bootstrap_test

    outcome, wfns, s100b = asah()
    result = paired_bootstrap_test(outcome, wfns, s100b, seed=1)
    assert (result.auc_a, result.auc_b) == pytest.approx((roc_auc_score(outcome, wfns), roc_auc_score(outcome, s100b)))
    assert result.z == pytest.approx(2.209, abs=0.25) and result.method == "paired bootstrap"
    assert 0.5 * 0.0272 < result.p < 2 * 0.0272 and result.p_greater == pytest.approx(result.p / 2)


def test_the_paired_bootstrap_tells_a_better_three_class_model_from_noise_and_resamples_whole_groups():
    from scipy.special import softmax

    from fusion_search.results import paired_bootstrap_test

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 240)
    better = softmax(rng.normal(size=(240, 3)) + 1.2 * np.eye(3)[labels], axis=1)
    worse = softmax(rng.normal(size=(240, 3)) + 0.3 * np.eye(3)[labels], axis=1)
    result = paired_bootstrap_test(labels, better, worse, draws=500)
    assert result.auc_a > result.auc_b and result.p_greater < 0.001
    assert math.isnan(paired_bootstrap_test(labels, better, better, draws=50).z)  # the same scores: no difference
    grouped = paired_bootstrap_test(labels, better, worse, groups=np.arange(240) // 4, draws=500)
    assert grouped.p_greater < 0.01 and grouped.rows == 240


def test_the_bootstraps_rank_auc_is_scikit_learns_with_ties_for_two_and_k_classes():
    from fusion_search.results._statistics import rank_auc
    from fusion_search.trainers import fold_auc

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 300)
    scores = np.round(rng.normal(size=(300, 4)) + np.eye(4)[labels], 1)  # rounded: many ties
    assert rank_auc(labels, scores) == pytest.approx(fold_auc(labels, scores), abs=1e-12)
    binary = (labels == 1).astype(int)
    assert rank_auc(binary, scores[:, 1]) == pytest.approx(roc_auc_score(binary, scores[:, 1]), abs=1e-12)


def test_the_corrected_interval_is_what_the_corrected_ttest_inverts():
    """Shift the differences by either end of the 95% interval and the two-sided p is exactly 0.05."""
    rng = np.random.default_rng(3)
    a, b = 0.8 + rng.normal(0, 0.03, 10), 0.78 + rng.normal(0, 0.03, 10)
    test = corrected_ttest(list(a), list(b), 1 / 9)
    low, high = test.interval(0.95)
    assert low < test.mean < high
    for end in (low, high):
        shifted = corrected_ttest(list(a - end), list(b), 1 / 9)
        assert shifted.p == pytest.approx(0.05, abs=1e-9)


def test_the_detectable_gain_is_found_with_80_percent_power_and_a_smaller_one_less_often():
    """Simulated fold differences whose spread is known: at the gain the test says it detects with 80% power, the
    one-sided 5% test rejects in about 80% of 4,000 draws; at half that gain, far less often; at zero, in about 5%.
    (test_train_ratio 0: the differences are independent, so the corrected test is the plain one and its premise
    holds exactly.)"""
    rng, n, sd = np.random.default_rng(11), 10, 0.04
    reference = corrected_ttest(list(rng.normal(0, sd, n)), [0.0] * n, 0.0)
    gain = reference.detectable_gain(0.8, 0.05) * sd / float(np.std(reference.differences, ddof=1))  # at the true sd

    def rejects(mean: float) -> float:
        draws = rng.normal(mean, sd, size=(4000, n))
        return float(np.mean([corrected_ttest(list(d), [0.0] * n, 0.0).p_greater < 0.05 for d in draws]))

    assert rejects(gain) == pytest.approx(0.80, abs=0.03)
    assert rejects(gain / 2) < 0.45
    assert rejects(0.0) == pytest.approx(0.05, abs=0.015)


def test_the_detectable_gain_grows_with_the_correction_for_overlapping_training_sets():
    differences = [0.03, -0.01, 0.02, 0.05, 0.0, 0.01, 0.04, -0.02, 0.02, 0.03]
    plain = corrected_ttest(differences, [0.0] * 10, 0.0)
    corrected = corrected_ttest(differences, [0.0] * 10, 1 / 9)
    assert corrected.detectable_gain() == pytest.approx(plain.detectable_gain() * math.sqrt(
        corrected.variance_factor / plain.variance_factor))
    assert math.isnan(corrected_ttest([0.01, 0.01], [0.0, 0.0], 0.1).detectable_gain())


def test_delongs_interval_is_what_its_z_inverts():
    rng = np.random.default_rng(5)
    labels = rng.random(300) < 0.4
    a, b = labels + rng.normal(0, 0.8, 300), labels + rng.normal(0, 1.1, 300)
    test = delong_test(labels, a, b)
    low, high = test.interval(0.95)
    assert (high - low) / 2 == pytest.approx(1.959964 * abs(test.difference / test.z), rel=1e-5)
    assert (low > 0) == (test.p < 0.05 and test.difference > 0)


def test_the_one_sided_bound_is_above_zero_exactly_when_the_one_sided_test_rejects():
    """A claim at one-sided 5% can sit beside a two-sided 95% interval that reaches below zero; the bound the claim
    rests on is the one-sided one, which the headline gives with it."""
    rng = np.random.default_rng(8)
    for shift in np.linspace(0.0, 0.06, 25):
        differences = list(shift + rng.normal(0, 0.03, 10))
        test = corrected_ttest(differences, [0.0] * 10, 1 / 9)
        assert (test.lower_bound(0.95) > 0) == (test.p_greater < 0.05)
        assert test.interval(0.90)[0] == pytest.approx(test.lower_bound(0.95))


def test_two_looks_at_their_spent_levels_claim_falsely_about_5_percent_where_two_looks_at_5_percent_do_not():
    """Null fold differences with the dependence the corrected t-test assumes (a component shared by every fold,
    variance 1/(k-1) of the folds' own): a first look at 1 x 10 folds, and, where it neither claims nor falls
    behind, a second at 3 x 10. At the spent levels the two looks together claim in 5% of 20,000 draws (Monte
    Carlo error 0.0015); at 5% each, in far more."""
    from scipy import stats

    from fusion_search.results import sequential_levels

    k, first, last, draws = 10, 1, 3, 20_000
    early, late = sequential_levels(first, last, k)
    assert early == pytest.approx(0.0178, abs=1e-4) and late == pytest.approx(0.0447, abs=1e-4)
    rng = np.random.default_rng(3)
    differences = rng.normal(0, math.sqrt(1 / (k - 1)), (draws, 1)) + rng.normal(0, 1, (draws, last * k))

    def one_sided(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, mean = d.shape[1], d.mean(axis=1)
        t = mean / np.sqrt((1 / n + 1 / (k - 1)) * d.var(axis=1, ddof=1))
        return stats.t.sf(t, n - 1), mean

    (p1, gain1), (p2, gain2) = one_sided(differences[:, :first * k]), one_sided(differences)

    def claims(level1: float, level2: float) -> float:
        at_first = (p1 < level1) & (gain1 > 0)
        return float(np.mean(at_first | (~at_first & (gain1 > 0) & (p2 < level2) & (gain2 > 0))))

    assert claims(early, late) == pytest.approx(0.05, abs=0.005)
    assert claims(0.05, 0.05) > 0.065
    assert sequential_levels(1, 2, k)[0] > early  # a nearer second look leaves the first more of the 5%
