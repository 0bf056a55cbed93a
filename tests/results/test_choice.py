"""What export takes by default follows the verdict: the confirmed fusion candidate when fusion helped, else the
single modality that scored best on the fresh folds, and before the confirmation the search's best trial; each
with one line saying which and why. --trial and --ensemble still choose for themselves."""

from __future__ import annotations

import pytest

from fusion_search import UserError
from fusion_search.results import choice_record, export_choice
from tests.results.test_report import BASELINES, made_study
from tests.results.test_verdict import AHEAD, FUSION, STEADY, confirmed_study


def test_when_fusion_helped_the_confirmed_fusion_candidate_is_exported():
    choice = export_choice(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    assert (choice.trial, choice.ensemble, choice.by) == (2, None, "verdict")
    assert choice.reason.startswith("fusion helped, so the confirmed fusion candidate: concat, trial 2 (AUC 0.749")


def test_when_fusion_was_not_confirmed_the_best_single_modality_on_the_fresh_folds_is_exported():
    """image_only leads the search (0.70 against 0.64), but numeric_only scores best on the fresh folds."""
    choice = export_choice(confirmed_study(STEADY, [0.6] * 10, AHEAD))
    assert (choice.trial, choice.by) == (1, "verdict")
    assert choice.reason.startswith("fusion was not confirmed, so the best single modality on the fresh folds: "
                                    "numeric_only, trial 1")


def test_a_fusion_ensemble_candidate_is_exported_as_that_ensemble():
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    summary = study.user_attrs["confirmation"]
    summary["designs"]["fusion"].update(trial=None, members={"2": 2, "0": 1}, fusion="ensemble of concat, image_only")
    study.set_user_attr("confirmation", summary)
    choice = export_choice(study)
    assert choice.trial is None and choice.ensemble.side == "fusion" and choice.ensemble.members == {2: 2, 0: 1}
    assert choice.record()["what"] == "ensemble:fusion"


def test_before_the_confirmation_the_search_best_is_exported_and_called_optimistic():
    choice = export_choice(made_study(BASELINES + [FUSION]))
    assert (choice.trial, choice.by) == (2, "search")
    assert "not confirmed yet" in choice.reason and "optimistic" in choice.reason


def test_the_record_says_what_was_chosen_and_why():
    study = confirmed_study(STEADY, AHEAD, [0.6] * 10)
    record = choice_record(study, export_choice(study))
    assert record["trial"] == 0 and record["fusion"] == "image_only"
    assert record["chosen"] == {"what": "trial 0", "by": "verdict", "why": export_choice(study).reason}


def test_trial_and_ensemble_still_choose_for_themselves():
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    assert export_choice(study, trial=1).trial == 1 and export_choice(study, trial=1).by == "--trial"
    with pytest.raises(UserError, match="not both"):
        export_choice(study, trial=1, ensemble="fusion")
