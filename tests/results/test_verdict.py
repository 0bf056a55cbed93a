"""The verdict: "fusion helped" only after the winners beat the best baseline and their own shuffled control on
fresh folds (and the baseline on held-out rows when there are any); before that the headline says the search's
lead is unconfirmed."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from fusion_search.results import compare, delong_test, headline, leaderboard_table
from fusion_search.results._confirmation import confirmation_in_words
from tests.results.test_report import BASELINES, made_study

FUSION = ("concat", 0.77, [0.75, 0.79, 0.77, 0.76, 0.78])


def confirmation(fusion: list[float], baselines: dict[str, list[float]], repeats: int = 2, folds: int = 5,
                 search_trials: int = 3, control: list[float] | None = None, shuffled: str = "table") -> dict:
    """The study attr the confirmation writes: per role, the trial and its AUCs on the fresh folds, and the fusion
    candidate's shuffled controls (by default each scores what the baseline of the other modality scores, as a
    fusion design whose shuffled input carries nothing would; `control`: the AUCs of the `shuffled` one)."""
    designs = {"fusion": {"trial": 2, "members": {"2": 1}, "fusion": "concat", "aucs": fusion,
                          "mean_auc": float(np.mean(fusion)), "holdout_auc": None}}
    for number, (name, aucs) in enumerate(baselines.items()):
        designs[name] = {"trial": number, "members": {str(number): 1}, "fusion": name, "aucs": aucs,
                         "mean_auc": float(np.mean(aucs)), "holdout_auc": None}
    controls = {}
    for modality in ("table", "image"):
        aucs = (control if modality == shuffled and control is not None
                else baselines.get("image_only" if modality == "table" else "numeric_only", [0.5] * len(fusion)))
        scored = [a for a in aucs if a is not None]
        controls[modality] = {"trial": 2, "members": {"2": 1}, "fusion": "concat", "aucs": aucs, "shuffled": [2],
                              "mean_auc": float(np.mean(scored)) if scored else None, "modality": modality}
    return {"repeats": repeats, "folds": folds, "search_trials": search_trials, "designs": designs,
            "control": controls}


def confirmed_study(fusion: list[float], image_only: list[float], numeric_only: list[float]) -> optuna.Study:
    study = made_study(BASELINES + [FUSION])
    study.set_user_attr("confirmation", confirmation(fusion, {"image_only": image_only, "numeric_only": numeric_only}))
    return study


RNG = np.random.default_rng(0)
STEADY = list(0.70 + RNG.normal(0, 0.01, 10))
AHEAD = [a + 0.05 + e for a, e in zip(STEADY, RNG.normal(0, 0.005, 10))]  # +0.05 on every fresh fold


def test_before_confirmation_the_headline_never_claims_that_fusion_helped():
    study = made_study(BASELINES + [FUSION])  # wins every search fold clearly: paired t-test p < 0.001
    assert compare(study).test.t_test_p < 0.001
    sentence = headline(compare(study))
    assert sentence.startswith("Not confirmed yet") and "+0.070" in sentence and "fusion-search confirm" in sentence
    assert not compare(study).helped


def test_a_search_where_fusion_is_behind_says_it_did_not_help_in_the_search():
    study = made_study(BASELINES + [("concat", 0.66, [0.65, 0.67, 0.66, 0.64, 0.68])])
    assert headline(compare(study)).startswith("Fusion did not help in the search")


def test_when_fold_pruning_stopped_every_fusion_trial_the_headline_says_fusion_did_not_help_in_the_search():
    study = made_study(BASELINES)
    fusion = optuna.distributions.CategoricalDistribution(["image_only", "numeric_only", "concat", "late"])
    for value in (0.61, 0.63):  # each stopped after two folds, behind image_only there
        study.add_trial(optuna.trial.create_trial(
            params={"fusion": "concat"}, distributions={"fusion": fusion}, value=value,
            user_attrs={"fusion": "concat", "fold_aucs": [value, value, None, None, None], "pruned": True}))
    sentence = headline(compare(study))
    assert sentence.startswith("Fusion did not help in the search") and "each of its 2 fusion trial(s)" in sentence
    assert "image_only (0.700)" in sentence and not compare(study).helped
    assert headline(compare(made_study(BASELINES))).startswith("Cannot tell yet")  # no fusion trial has run at all


def test_fusion_helped_when_it_beats_the_best_baseline_on_fresh_folds():
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    comparison = compare(study)
    assert comparison.helped and comparison.confirmed.test.p_greater < 0.05
    sentence = comparison.headline
    assert sentence.startswith("Fusion helped on this data: on 2x5 fresh folds")
    assert "+0.048" in sentence and "10 of 10 folds" in sentence and "p < 0.001" in sentence and "image_only" in sentence


def test_a_lead_over_the_best_baseline_that_the_shuffled_control_matches_is_not_called_help():
    """Null data: the fusion design beats image_only (more tuning, more blending) but does as well with the table's
    rows shuffled, so the table is not what helped."""
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    study.set_user_attr("confirmation", confirmation(AHEAD, {"image_only": STEADY, "numeric_only": [0.6] * 10},
                                                     control=[a - 0.002 for a in AHEAD]))
    comparison = compare(study)
    assert comparison.confirmed.significant and not comparison.confirmed.control_beaten and not comparison.helped
    sentence = comparison.headline
    assert sentence.startswith("Fusion did not clearly help on this data") and "beats the best single modality" in sentence
    assert "against itself with the table's rows shuffled (0.747) it is +0.002" in sentence
    assert "not shown to come from the table" in sentence


def test_fusion_helped_names_how_far_it_beats_its_shuffled_control():
    comparison = compare(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    assert comparison.confirmed.control_test.p_greater < 0.05 and comparison.helped
    assert "and beats itself with the table's rows shuffled (0.701) by +0.048 (better in 10 of 10 folds, one-sided " \
        "p < 0.001)" in comparison.headline
    assert "shuffled" in confirmation_in_words(comparison.confirmed)


def test_the_report_says_a_beaten_control_shows_the_real_input_helps_not_that_it_adds_information():
    """A shuffled copy is not an absent input: where the table repeats what the image shows, the shuffled table
    contradicts the image, so fusion can beat its control without adding anything beyond the image."""
    words = " ".join(confirmation_in_words(compare(confirmed_study(AHEAD, STEADY, [0.6] * 10)).confirmed).split())
    assert ("Beating the control shows that the design does better with the real input than with a shuffled copy, "
            "not that the input adds information the other one lacks") in words
    assert "carry no information" not in words and "not from the second input" not in words


def test_the_control_judged_is_the_one_that_shuffles_what_the_best_baseline_on_the_fresh_folds_lacks():
    """image_only led the search, numeric_only leads the fresh folds: the images-shuffled control is the one that
    says whether the images added anything to the table; that fusion beats a table-shuffled copy of itself says
    nothing of it."""
    study = made_study(BASELINES + [FUSION])
    study.set_user_attr("confirmation", confirmation(AHEAD, {"image_only": [0.6] * 10, "numeric_only": STEADY},
                                                     control=[a - 0.001 for a in AHEAD], shuffled="image"))
    comparison = compare(study)
    assert comparison.confirmed.control["modality"] == "image" and comparison.confirmed.baseline_role == "numeric_only"
    assert comparison.confirmed.significant and not comparison.helped
    assert "against itself with the images shuffled (0.748) it is +0.001" in comparison.headline


def test_a_control_that_failed_on_every_fresh_fold_confirms_nothing():
    study = made_study(BASELINES + [FUSION])
    study.set_user_attr("confirmation", confirmation(AHEAD, {"image_only": STEADY}, control=[None] * 10))
    comparison = compare(study)
    assert comparison.confirmed.significant and not comparison.helped
    assert "its control (the same design with the table's rows shuffled) failed on every fresh fold" in \
        comparison.headline


def test_a_confirmation_without_the_shuffled_control_is_not_a_confirmation():
    """Written by an older version: `confirm` runs it again, with the control."""
    study = made_study(BASELINES + [FUSION])
    summary = confirmation(AHEAD, {"image_only": STEADY})
    del summary["control"]
    study.set_user_attr("confirmation", summary)
    assert compare(study).confirmed is None and compare(study).headline.startswith("Not confirmed yet")


def test_a_lead_within_fold_noise_on_fresh_folds_is_not_called_help():
    noisy = [a + d for a, d in zip(STEADY, [0.06, -0.05, 0.04, -0.03, 0.05, -0.06, 0.02, -0.01, 0.03, -0.02])]
    comparison = compare(confirmed_study(noisy, STEADY, [0.6] * 10))
    assert not comparison.helped and comparison.confirmed.test.mean > 0
    assert comparison.headline.startswith("Fusion did not clearly help on this data")


def test_the_reference_on_fresh_folds_is_the_best_baseline_there():
    """numeric_only was behind in the search but is best on the fresh folds: fusion is judged against it."""
    comparison = compare(confirmed_study([a + 0.02 for a in STEADY], STEADY, [a + 0.03 for a in STEADY]))
    assert comparison.confirmed.baseline["fusion"] == "numeric_only"
    assert comparison.headline.startswith("Fusion did not help on this data") and not comparison.helped


def test_the_corrected_test_is_more_cautious_than_the_plain_one_on_the_same_fresh_folds():
    from scipy import stats

    fusion = [a + d for a, d in zip(STEADY, [0.03, 0.0, 0.025, -0.01, 0.03, 0.0, 0.02, 0.01, 0.015, -0.005])]
    comparison = compare(confirmed_study(fusion, STEADY, [0.6] * 10))
    assert stats.ttest_rel(fusion, STEADY, alternative="greater").pvalue < 0.05 <= comparison.confirmed.test.p_greater
    assert not comparison.helped
    assert "1/n + 1/(k-1) = 1/10 + 1/4 = 0.350" in confirmation_in_words(comparison.confirmed)  # 2 x 5 fresh folds


def test_a_confirmation_planned_before_the_study_grew_does_not_count():
    """It confirmed the winners of the first 2 trials; with 3 the winners may be others."""
    study = made_study(BASELINES + [FUSION])
    study.set_user_attr("confirmation", confirmation(AHEAD, {"image_only": STEADY}, search_trials=2))
    assert compare(study).confirmed is None and headline(compare(study)).startswith("Not confirmed yet")


def test_an_ensemble_is_named_by_its_members_in_the_headline():
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    summary = study.user_attrs["confirmation"]
    summary["designs"]["fusion"].update(trial=None, members={"2": 2, "0": 1},
                                        fusion="ensemble of concat (trial 2 x2), image_only (trial 0)")
    study.set_user_attr("confirmation", summary)
    assert "the best fusion design (ensemble of concat (trial 2 x2), image_only (trial 0), 0.749)" in \
        compare(study).headline


@pytest.mark.parametrize("held_out_difference, helped", [
    (0.08, True),  # AUC 0.860 against 0.777: DeLong one-sided p = 0.029
    (0.01, False),  # 0.798 against 0.777, higher but one-sided p = 0.33: a coin flip would often do as well
    (-0.08, False),
])
def test_with_held_out_rows_fusion_must_also_be_better_on_them_by_a_one_sided_delong_test(held_out_difference,
                                                                                          helped):
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    base = labels + rng.normal(0, 1.0, 200)
    better = labels + rng.normal(0, 1.0 - 3 * held_out_difference, 200)
    storage = study._storage
    for role, values in (("labels", labels), ("fusion", better), ("image_only", base)):
        storage.set_study_system_attr(study._study_id, f"fusion_search:holdout_scores:{role}", [float(v) for v in values])
    comparison = compare(study)
    assert comparison.confirmed.holdout.rows == 200
    assert (comparison.confirmed.holdout.p_greater < 0.05) is helped and comparison.helped is helped
    assert "DeLong, one-sided p = " in comparison.headline
    assert ("held-out rows" in comparison.headline) and comparison.headline.startswith(
        "Fusion helped" if helped else "Fusion is not confirmed on the held-out rows")


def grouped_null_holdout(seed: int, patients: int = 40, rows_each: int = 5) -> tuple[np.ndarray, ...]:
    """Held-out rows of patients with five images each and one diagnosis per patient, scored by two models equally
    good, each off by its own amount for every row of a patient (bench/grouped_holdout.py's null data)."""
    rng = np.random.default_rng([0, seed])
    groups = np.repeat(np.arange(patients), rows_each)
    latent = rng.normal(size=patients)
    labels = (rng.random(patients) < 1 / (1 + np.exp(-2 * latent))).astype(int)[groups]
    a, b = (latent[groups] + rng.normal(size=patients)[groups] + 0.3 * rng.normal(size=groups.size) for _ in "ab")
    return labels, a, b, groups


def test_grouped_held_out_rows_are_tested_by_resampling_whole_patients_not_by_delong():
    labels, fusion, baseline, groups = grouped_null_holdout(0)
    assert delong_test(labels, fusion, baseline).p_greater < 0.01  # five rows per patient read as independent
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    storage = study._storage
    for role, values in (("labels", labels), ("fusion", fusion), ("image_only", baseline)):
        storage.set_study_system_attr(study._study_id, f"fusion_search:holdout_scores:{role}", [float(v) for v in values])
    storage.set_study_system_attr(study._study_id, "fusion_search:holdout_scores:groups", [f"p{g:03d}" for g in groups])
    comparison = compare(study)
    held = comparison.confirmed.holdout
    assert held.name == "a paired bootstrap test" and held.rows == 200
    assert held.p_greater > 0.05 and not comparison.helped
    assert comparison.headline.startswith("Fusion is not confirmed on the held-out rows")


def test_the_best_fusion_design_behind_an_ensemble_is_reported_but_never_the_reference():
    """fusion:design scores highest of all on the fresh folds; the reference is still the best baseline, and the
    confirmation says what ensembling added."""
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    summary = study.user_attrs["confirmation"]
    summary["designs"]["fusion"].update(trial=None, members={"2": 1, "0": 1}, fusion="ensemble of concat, image_only")
    alone = [a + 0.08 for a in STEADY]
    summary["designs"]["fusion:design"] = {"trial": 2, "members": {"2": 1}, "fusion": "concat", "aucs": alone,
                                           "mean_auc": float(np.mean(alone)), "holdout_auc": None}
    study.set_user_attr("confirmation", summary)
    comparison = compare(study)
    assert comparison.confirmed.baseline["fusion"] == "image_only" and comparison.helped
    assert comparison.confirmed.design_alone["fusion"] == "concat"
    assert "ensembling added -0.032" in confirmation_in_words(comparison.confirmed)


def test_where_the_backbone_is_searched_the_headline_and_leaderboard_name_it():
    study = optuna.create_study(direction="maximize")
    fusions = optuna.distributions.CategoricalDistribution(["image_only", "numeric_only", "concat"])
    backbones = optuna.distributions.CategoricalDistribution(["small_cnn", "descriptors"])
    for fusion, backbone, value in (("image_only", "small_cnn", 0.70), ("numeric_only", None, 0.64),
                                    ("concat", "descriptors", 0.77)):
        params = {"fusion": fusion, **({"backbone": backbone} if backbone else {})}
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={"fusion": fusions, "backbone": backbones} if backbone else {"fusion": fusions},
            value=value, user_attrs={"fusion": fusion, "fold_aucs": [value] * 5, "std_auc": 0.0, "oof_auc": value}))
    sentence = headline(compare(study))
    assert "concat on descriptors, trial 2" in sentence and "image_only on small_cnn" in sentence
    rows = leaderboard_table(study).columns[0]._cells
    assert "concat on descriptors" in rows and "numeric_only (baseline)" in rows


def test_every_confirmed_headline_gives_the_95_percent_interval_of_the_fresh_fold_gain():
    for fusion in (AHEAD, [a + 0.02 for a in STEADY][:5] + [a - 0.02 for a in STEADY][5:]):
        comparison = compare(confirmed_study(fusion, STEADY, [0.6] * 10))
        low, high = comparison.confirmed.test.interval(0.95)
        assert f"95% CI {low:+.3f} to {high:+.3f}" in comparison.headline
        assert comparison.evidence["interval_95"] == [round(low, 6), round(high, 6)]


def test_a_claim_does_not_speak_of_what_it_could_have_missed_and_a_non_claim_does():
    helped = compare(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    assert helped.helped and "would likely (80% power) have been seen" not in helped.headline
    bound = helped.confirmed.test.lower_bound(0.95)
    assert f"at least {bound:+.3f} with 95% confidence (one-sided), two-sided 95% CI" in helped.headline and bound > 0
    noisy = [a + d for a, d in zip(STEADY, [0.06, -0.05, 0.04, -0.03, 0.05, -0.06, 0.02, -0.01, 0.03, -0.02])]
    unclear = compare(confirmed_study(noisy, STEADY, [0.6] * 10))
    gain = unclear.confirmed.test.detectable_gain(0.8, 0.05)
    assert not unclear.helped and 0.01 < gain < 0.2
    assert f"a true gain of {gain:+.3f} AUC or more would likely (80% power) have been seen" in unclear.headline
    assert "collect more rows" in unclear.headline
    assert unclear.evidence["detectable_gain_80"] == pytest.approx(gain, abs=1e-6)
    behind = compare(confirmed_study([a - 0.03 for a in noisy], STEADY, [0.6] * 10))
    assert behind.headline.startswith("Fusion did not help on this data") and "80% power" in behind.headline


def test_before_a_confirmation_there_is_no_evidence_to_quote():
    comparison = compare(made_study(BASELINES + [FUSION]))
    assert comparison.evidence is None and "95% CI" not in comparison.headline


def two_look_study(fusion: list[float], image_only: list[float], numeric_only: list[float], look: int,
                   second_look: str | None = None) -> optuna.Study:
    """A planted two-look confirmation (looks after 1 and 3 partitions of 5 folds): at look 2 the fusion
    candidate, the chosen baseline and the control have 15 folds, the other baseline 5."""
    study = made_study(BASELINES + [FUSION])
    summary = confirmation(fusion, {"image_only": image_only, "numeric_only": numeric_only}, repeats=1)
    summary.update({"looks": [1, 3], "look": look}, **({"second_look": second_look} if second_look else {}))
    study.set_user_attr("confirmation", summary)
    return study


def noisy_lead(gain: float, spread: float, folds: int, seed: int = 5) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    base = list(0.70 + rng.normal(0, 0.01, folds))
    return [b + gain + e for b, e in zip(base, rng.normal(0, spread, folds))], base


def test_a_first_look_between_its_level_and_5_percent_asks_for_the_second_look_and_says_so():
    from fusion_search.results import second_look_baseline, sequential_levels

    early = sequential_levels(1, 3, 5)[0]
    for seed in range(200):  # a planted first look with early <= p < 0.05
        fusion, image = noisy_lead(0.03, 0.025, 5, seed)
        study = two_look_study(fusion, image, [0.6] * 5, look=1)
        done = compare(study).confirmed
        if early <= done.test.p_greater < 0.05 and done.test.mean > 0:
            break
    comparison = compare(study)
    assert done.level == pytest.approx(early) and not done.significant and not comparison.helped
    assert second_look_baseline(study) == "image_only" and done.looks_further
    assert "(first look of two)" in comparison.headline and "A second look on more fresh folds" in comparison.headline
    assert f"first look's level {early:.4f}" in comparison.headline
    assert comparison.evidence["level_one_sided"] == pytest.approx(early, abs=1e-6)


def test_a_first_look_that_claims_or_finds_fusion_behind_asks_for_no_second_look():
    from fusion_search.results import second_look_baseline

    claimed = two_look_study(AHEAD[:5], STEADY[:5], [0.6] * 5, look=1)
    assert compare(claimed).helped and second_look_baseline(claimed) is None
    fusion, image = noisy_lead(-0.02, 0.01, 5)
    behind = two_look_study(fusion, image, [0.6] * 5, look=1)
    assert not compare(behind).helped and second_look_baseline(behind) is None
    assert "first look of two" not in compare(behind).headline and "80% power" in compare(behind).headline


def test_the_second_look_judges_against_the_first_look_s_baseline_at_the_second_look_s_level():
    """numeric_only leads on its 5 first-look folds, but the first look judged against image_only: the second look
    stays with it (choosing again after seeing more folds would spend the 5% twice)."""
    from fusion_search.results import second_look_baseline, sequential_levels

    fusion, image = noisy_lead(0.02, 0.01, 15)
    study = two_look_study(fusion, image, [0.9] * 5, look=2, second_look="image_only")
    done = compare(study).confirmed
    late = sequential_levels(1, 3, 5)[1]
    assert done.baseline_role == "image_only" and done.test.n == 15 and done.level == pytest.approx(late)
    assert done.significant == (done.test.p_greater < late) and second_look_baseline(study) is None
    assert "second look's level" in compare(study).headline
    assert "This is the second look" in confirmation_in_words(done)
