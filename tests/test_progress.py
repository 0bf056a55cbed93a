"""Progress lines say what they measure: a search trial's mean AUC over its folds; a confirmation training's
place among all of them, its design, its fresh fold (counted from 1) and that one fold's AUC."""

from __future__ import annotations

import io

import optuna
from rich.console import Console

from fusion_search._progress import RichProgress
from fusion_search.study._confirm import HOLDOUT, unit_place, units_done


def printed(call) -> str:
    out = io.StringIO()
    with RichProgress(60, Console(file=out, width=120)) as progress:
        call(progress)
    return out.getvalue()


def test_a_confirmation_line_names_its_place_design_fold_and_that_folds_auc():
    line = printed(lambda p: p.unit_ended(4, 60, "image_only", "repeat 1 fold 3", 0.283))
    assert " ".join(line.split()) == "confirm 4/60 image_only repeat 1 fold 3 AUC 0.283"


def test_a_search_line_says_its_auc_is_the_mean_over_folds():
    assert " ".join(printed(lambda p: p.trial_ended(3, "concat", 0.7123)).split()) == "trial 3 concat mean AUC 0.712"


def test_units_are_placed_from_one_and_the_held_out_rows_by_name():
    assert unit_place({"trial": 5, "repeat": 0, "fold": 2}) == "repeat 1 fold 3"
    assert unit_place({"trial": 5, "repeat": HOLDOUT, "fold": HOLDOUT}) == "held-out rows"


def test_a_unit_counts_itself_among_the_planned_units_of_its_confirmation():
    companion = optuna.create_study()
    companion.set_user_attr("plan", {"units": [{"trial": 0, "repeat": 0, "fold": f} for f in range(3)]})
    companion.add_trial(optuna.trial.create_trial(value=0.7))
    assert units_done(companion.ask()) == (2, 3)
