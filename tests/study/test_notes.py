"""Each finished trial's note says what the design is, how it scored, and why it was pruned, skipped or flagged;
the study's note says the search is still going, and how far it is."""

from __future__ import annotations

import optuna

from fusion_search.study import progress_note, trial_note
from fusion_search.study._notes import outcome

PARAMS = {"fusion": "concat", "image_units": 8, "lr_fusion": 0.0031623}
SCORED = {"fusion": "concat", "fold_aucs": [0.71, 0.69, 0.73], "std_auc": 0.0163, "oof_auc": 0.705,
          "delta_vs_best_baseline": 0.012, "pruned": False, "folds_done": 3}


def test_a_complete_trials_note_gives_design_fold_aucs_oof_auc_and_delta():
    note = trial_note(4, PARAMS, SCORED, 0.71)
    assert note.splitlines()[0] == "### Trial 4: concat (complete)"
    assert "**concat**:" in note and "image_units 8" in note and "lr_fusion 0.00316" in note
    assert "| AUC | 0.710 | 0.690 | 0.730 |" in note
    assert "mean AUC **0.710**" in note and "out-of-fold AUC 0.705" in note
    assert "**+0.012** against the best baseline" in note
    assert "Why" not in note and "Flagged" not in note


def test_a_pruned_trials_note_says_so_and_why_and_shows_the_folds_it_skipped():
    attrs = {**SCORED, "fold_aucs": [None, 0.61, None], "pruned": True, "folds_done": 1}
    del attrs["delta_vs_best_baseline"]  # a pruned trial is compared with nothing
    note = trial_note(7, PARAMS, attrs, 0.61)
    assert note.splitlines()[0] == "### Trial 7: concat (PRUNED early after 1 of 3 folds)"
    assert "| AUC | – | 0.610 | – |" in note
    assert "**Why pruned**" in note and "running mean" in note
    assert "against the best baseline" not in note


def test_a_skipped_trials_note_gives_the_reason_and_no_scores():
    attrs = {"fusion": "concat", "skipped": "needs 12 GiB, the device has 8"}
    note = trial_note(2, PARAMS, attrs, None)
    assert "(skipped (not trained))" in note.splitlines()[0]
    assert "**Why**: needs 12 GiB, the device has 8." in note and "| AUC |" not in note


def test_a_trial_below_chance_is_flagged():
    attrs = {**SCORED, "fold_aucs": [0.41, 0.45, 0.43], "delta_vs_best_baseline": -0.3,
             "below_chance": "below chance: out-of-fold AUC 0.430 over 60 rows"}
    assert outcome(attrs) == "complete, flagged below chance"
    assert "**Flagged**: below chance: out-of-fold AUC 0.430 over 60 rows." in trial_note(5, PARAMS, attrs, 0.43)


def test_the_progress_note_counts_finished_and_pruned_trials_against_the_target():
    study = optuna.create_study(study_name="growing", direction="maximize")
    for pruned in (False, True, False):
        study.add_trial(optuna.trial.create_trial(value=0.7, user_attrs={"pruned": pruned}))
    note = progress_note(study, 10, ending={"pruned": True})
    assert "**Still searching.**" in note and "**4 of 10 trials finished** (2 pruned early)" in note
    assert "being confirmed" in progress_note(study, 3)
