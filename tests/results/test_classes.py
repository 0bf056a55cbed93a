"""K classes in the results: per class, the best design and fusion's gain over the best baseline (one-vs-rest AUC
out of fold), and the headline's per-class differences of the two trials it compares; nothing for two classes."""

from __future__ import annotations

import optuna
import pytest

from fusion_search.results import compare
from fusion_search.results._classes import class_gains_in_words, class_rows

CLASSES = [["akiec", 40], ["bcc", 30], ["bkl", 30]]


def _study(per_class: dict[str, dict[str, float]], classes=CLASSES) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    study.set_user_attr("classes", classes)
    for fusion, aucs in per_class.items():
        study.add_trial(optuna.trial.create_trial(
            params={}, distributions={}, value=sum(aucs.values()) / len(aucs),
            user_attrs={"fusion": fusion, "class_aucs": aucs, "fold_aucs": [0.7, 0.7, 0.7]}))
    return study


STUDY = {"image_only": {"akiec": 0.90, "bcc": 0.60, "bkl": 0.70},
         "numeric_only": {"akiec": 0.55, "bcc": 0.80, "bkl": 0.65},
         "concat": {"akiec": 0.88, "bcc": 0.85, "bkl": 0.72}}


def test_each_class_names_its_best_design_and_fusions_gain_over_the_best_baseline_on_it():
    rows = {row["class"]: row for row in class_rows(_study(STUDY))}
    assert list(rows) == ["akiec", "bcc", "bkl"] and rows["akiec"]["rows"] == 40
    assert rows["akiec"]["best_design"] == "image_only" and rows["akiec"]["fusion_gain"] == pytest.approx(-0.02)
    assert rows["bcc"]["best_design"] == "concat" and rows["bcc"]["best_baseline_auc"] == 0.80
    assert rows["bcc"]["fusion_gain"] == pytest.approx(0.05)


def test_the_headline_lists_the_per_class_differences_of_the_trials_it_compares_largest_first():
    study = _study(STUDY)
    comparison = compare(study)
    words = class_gains_in_words(comparison.fusion, comparison.baseline)
    assert comparison.fusion.number == 2 and comparison.baseline.number == 0
    assert words == (" Per class, out of fold (one-vs-rest AUC of trial 2 minus trial 0, largest gain first): "
                     "bcc +0.250, bkl +0.020, akiec -0.020.")
    assert words in comparison.headline


def test_two_classes_add_no_table_and_no_sentence():
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.7,
                                              user_attrs={"fusion": "concat", "fold_aucs": [0.7, 0.7]}))
    assert class_rows(study) == [] and class_gains_in_words(study.trials[0], study.trials[0]) == ""
