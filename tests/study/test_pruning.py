"""Fold pruning: a fusion design clearly worse than the best on its first folds stops early and says so;
a baseline design, tuned or not, is never pruned: it is what every design is judged against. Nor is a fusion
family's first try, and no fusion trial is pruned before some fusion trial has been scored on every fold: otherwise
a tuned baseline would stop every untuned fusion trial and no fusion design would reach the verdict."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from fusion_search.data import prepare_data
from fusion_search.designs import DesignKind, register_design, unregister_design
from fusion_search.models import Fusion, register_fusion, unregister_fusion
from fusion_search.results import print_status
from fusion_search.spaces import parse_space
from fusion_search.study import FIRST_TRY, CrossValidatedObjective, completed, fold_order, make_pruner, pruned
from tests.conftest import write_manifest

SPACE = {
    "fixed": {"backbone": "small_cnn", "weights": "none", "image_size": 8, "trainable_blocks": 3, "epochs": 6,
              "patience": 0, "numeric_units": 8, "numeric_width": 8, "image_units": 4, "head_units": 8,
              "batch_size": 16, "lr_numeric": 0.02, "lr_image": 1e-6, "lr_backbone": 1e-6},
    "search": {"fusion": {"choices": ["numeric_only", "image_only", "blind", "sighted"]}},
}
GOOD, BAD, SIGHTED = {"fusion": "numeric_only"}, {"fusion": "blind"}, {"fusion": "sighted"}


class Blind(Fusion):
    """A fusion design that looks at both branches and keeps only the image: as bad here as image_only."""

    name = "blind"

    def fuse(self, v, t):
        return v


class Sighted(Fusion):
    """A fusion design that looks at both branches and keeps only the numbers: as good here as numeric_only."""

    name = "sighted"

    def fuse(self, v, t):
        return t


@pytest.fixture(autouse=True, scope="module")
def blind():
    for fusion in (Blind, Sighted):
        register_design(DesignKind(fusion.name, fusion.__doc__))
        register_fusion(fusion)
    yield
    for fusion in (Blind, Sighted):
        unregister_fusion(fusion.name)
        unregister_design(fusion.name)


@pytest.fixture(scope="module")
def numbers_tell_images_do_not(tmp_path_factory):
    """The label is the sign of a numeric column; images are noise (and barely trained)."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=100)
    rows = [{"image": f"i/{i}.png", "label": int(signal[i] > 0), "signal": f"{signal[i]:.3f}"} for i in range(100)]
    images = [rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for _ in range(100)]
    return write_manifest(tmp_path_factory.mktemp("prune"), rows, images)


def test_a_clearly_worse_design_is_pruned_after_three_of_five_folds(numbers_tell_images_do_not, capsys):
    data = prepare_data(numbers_tell_images_do_not, k=5, fold_seed=0)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(0.2))
    for params in (GOOD, SIGHTED, BAD):
        study.enqueue_trial(params)
    study.optimize(CrossValidatedObjective(data, parse_space(SPACE, "t", "test"), seed=0), n_trials=3)
    good, sighted, bad = study.trials
    assert good.user_attrs["pruned"] is False and good.value > 0.9 and sighted.user_attrs["folds_done"] == 5
    assert bad.user_attrs["pruned"] is True and bad.user_attrs["folds_done"] == 3
    done = [a for a in bad.user_attrs["fold_aucs"] if a is not None]
    assert len(done) == 3 and bad.user_attrs["partial_mean_auc"] == pytest.approx(np.mean(done), abs=1e-6)
    assert bad.state == optuna.trial.TrialState.PRUNED  # listed as Pruned, and never the study's best trial
    assert study.best_trial.number == good.number
    assert sorted(bad.intermediate_values) == sorted(fold_order(0, bad.number, 5)[:3])
    assert completed(study) == [good, sighted] and pruned(study) == [bad]
    print_status(study)
    out = capsys.readouterr().out
    assert "1 pruned early" in out
    assert "blind (pruned)" in out and "3/5 folds" in out


def test_without_pruning_every_fold_is_trained(numbers_tell_images_do_not):
    data = prepare_data(numbers_tell_images_do_not, k=5, fold_seed=0)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(0.0))
    study.enqueue_trial(GOOD)
    study.enqueue_trial(BAD)
    study.optimize(CrossValidatedObjective(data, parse_space(SPACE, "t", "test"), seed=0), n_trials=2)
    assert [t.user_attrs["folds_done"] for t in study.trials] == [5, 5]


def test_each_trial_visits_the_folds_in_its_own_order():
    orders = {tuple(fold_order(0, trial, 5)) for trial in range(20)}
    assert len(orders) > 5 and all(sorted(o) == [0, 1, 2, 3, 4] for o in orders)
    assert fold_order(0, 3, 5) == fold_order(0, 3, 5)


@pytest.mark.parametrize("role", ["baseline", "baseline tuning"])
def test_a_baseline_trial_default_or_tuned_is_never_pruned(numbers_tell_images_do_not, role):
    """image_only is as bad here as the blind fusion pruned above, and is still scored on every fold."""
    data = prepare_data(numbers_tell_images_do_not, k=5, fold_seed=0)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(0.2))
    study.enqueue_trial(GOOD)
    study.enqueue_trial({"fusion": "image_only"}, user_attrs={"role": role})
    study.optimize(CrossValidatedObjective(data, parse_space(SPACE, "t", "test"), seed=0), n_trials=2)
    baseline = study.trials[1]
    assert baseline.value < 0.7 and baseline.user_attrs["folds_done"] == 5 and not baseline.user_attrs["pruned"]
    assert completed(study) == study.trials  # so it is a reference: its value is its mean over every fold


def test_no_fusion_trial_is_pruned_against_a_baseline_before_a_fusion_trial_was_scored_on_every_fold(
        numbers_tell_images_do_not):
    """The blind fusion loses every fold to numeric_only, as above; but with no fusion design scored yet, pruning
    it would leave the verdict no fusion design at all. Once it is scored, the next bad fusion trial is pruned."""
    data = prepare_data(numbers_tell_images_do_not, k=5, fold_seed=0)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(0.2))
    for params in (GOOD, BAD, BAD):
        study.enqueue_trial(params)
    study.optimize(CrossValidatedObjective(data, parse_space(SPACE, "t", "test"), seed=0), n_trials=3)
    good, first, second = study.trials
    assert first.value < good.value - 0.2  # as clearly worse as the pruned trial above
    assert first.user_attrs["folds_done"] == 5 and not first.user_attrs["pruned"]
    assert second.user_attrs["pruned"] and second.user_attrs["folds_done"] < 5


def test_a_fusion_familys_first_try_is_never_pruned(numbers_tell_images_do_not):
    data = prepare_data(numbers_tell_images_do_not, k=5, fold_seed=0)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(0.2))
    study.enqueue_trial(GOOD)
    study.enqueue_trial(SIGHTED)
    study.enqueue_trial(BAD, user_attrs={"role": FIRST_TRY})
    study.optimize(CrossValidatedObjective(data, parse_space(SPACE, "t", "test"), seed=0), n_trials=3)
    first_try = study.trials[2]
    assert first_try.value < 0.7 and first_try.user_attrs["folds_done"] == 5 and not first_try.user_attrs["pruned"]
