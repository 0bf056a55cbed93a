"""The below-chance guard: a design whose out-of-fold scores rank the classes the wrong way round, beyond chance,
is flagged as a training problem in status, the report and the export, never joins an ensemble, and the verdict
says so when a baseline carries the flag."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import optuna
import pytest
from sklearn.metrics import roc_auc_score

import fusion_search.study._objective as objective_module
from fusion_search.cli import main
from fusion_search.results import compare, leaderboard_rows
from fusion_search.study import BELOW_CHANCE, below_chance_reason, is_below_chance, study_ensembles

RNG = np.random.default_rng(0)


def test_scores_that_rank_the_classes_backwards_beyond_chance_are_flagged():
    labels = np.array([1] * 40 + [0] * 60)
    inverted = np.where(labels == 1, 0.3, 0.6) + RNG.normal(0, 0.2, 100)
    reason = below_chance_reason(labels, inverted)
    assert reason is not None and reason.startswith("below chance: out-of-fold AUC 0.")
    assert "a training problem, or folds too small to rank, not a signal" in reason


@pytest.mark.parametrize("scores", [RNG.random(100), np.where(np.array([1] * 40 + [0] * 60) == 1, 0.6, 0.3)],
                         ids=["noise", "a real signal"])
def test_noise_and_signal_are_not_flagged(scores):
    assert below_chance_reason(np.array([1] * 40 + [0] * 60), scores) is None


def test_a_class_ranked_backwards_beyond_chance_is_named_and_noise_of_k_classes_is_not_flagged():
    labels = np.repeat([0, 1, 2], 50)
    scores = RNG.random((150, 3)) + 0.5 * np.eye(3)[labels]
    scores[:, 2] = np.where(labels == 2, 0.2, 0.6) + RNG.normal(0, 0.2, 150)  # class 2's column upside down
    reason = below_chance_reason(labels, scores, ("akiec", "bcc", "bkl"))
    assert reason is not None and reason.startswith("below chance: class 'bkl' against the rest: out-of-fold AUC 0.")
    assert below_chance_reason(labels, RNG.random((150, 3)), ("akiec", "bcc", "bkl")) is None
    scores[:100] = np.nan  # rows never scored are left out: 50 rows of class 2 alone rank nothing
    assert below_chance_reason(labels, scores) is None


def test_rows_without_a_score_are_left_out():
    labels = np.array([1, 0] * 30)
    scores = np.where(labels == 1, 0.2, 0.8) + RNG.normal(0, 0.05, 60)
    scores[:40] = np.nan  # folds a pruned trial never trained
    assert "over 20 rows" in below_chance_reason(labels, scores)


@pytest.fixture(scope="module")
def inverted_image_study(demo_manifest, tiny_space, tmp_path_factory):
    """A study whose image_only trials score backwards (the kind of model issue 20 found), others as trained."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('inverted') / 'study.db'}"
    real = objective_module.train_fold

    def train_fold(design, data, train_idx, val_idx, seed, on_epoch=None):
        result = real(design, data, train_idx, val_idx, seed=seed, on_epoch=on_epoch)
        if design.fusion != "image_only":
            return result
        labels = data.labels[val_idx]
        scores = np.where(labels == 1, 0.2, 0.8) + np.random.default_rng(seed).normal(0, 0.1, len(val_idx))
        return replace(result, scores=scores, auc=roc_auc_score(labels, scores))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(objective_module, "train_fold", train_fold)
        assert main(["run", "--data", str(demo_manifest), "--study", "inverted", "--space", str(tiny_space),
                     "--trials", "8", "--folds", "3", "--storage", storage, "--quiet", "--prune-p", "0",
                     "--confirm-repeats", "0"]) == 0
    return storage, optuna.load_study(study_name="inverted", storage=storage)


def test_the_flag_is_on_the_image_trials_only(inverted_image_study):
    _, study = inverted_image_study
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    flagged = {t.user_attrs["fusion"] for t in done if is_below_chance(t)}
    assert flagged == {"image_only"}


def test_a_flagged_trial_never_joins_an_ensemble(inverted_image_study):
    _, study = inverted_image_study
    members = {n for ensemble in study_ensembles(study) for n in ensemble.members}
    assert not any(is_below_chance(study.trials[n]) for n in members)


def test_status_and_the_verdict_name_the_flagged_baseline(inverted_image_study, capsys):
    storage, study = inverted_image_study
    assert main(["status", "--study", "inverted", "--storage", storage]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "scored below chance out of fold" in out and "(below chance)" in out
    assert "image_only (baseline) (below chance)" in {row["design"] for row in leaderboard_rows(study)}
    assert "Caution: the best image_only (trial" in compare(study).headline


def test_the_export_record_carries_the_flag(inverted_image_study, tmp_path, capsys):
    storage, study = inverted_image_study
    image = max((t for t in study.trials if t.user_attrs.get("fusion") == "image_only"), key=lambda t: t.value)
    output = tmp_path / "image.json"
    assert main(["export", "--study", "inverted", "--storage", storage, "--trial", str(image.number),
                 "--output", str(output)]) == 0
    assert json.loads(output.read_text())["below_chance"] == image.user_attrs[BELOW_CHANCE]
    assert "is flagged below chance" in capsys.readouterr().err


def test_the_report_marks_it(inverted_image_study, tmp_path):
    storage, _ = inverted_image_study
    report = tmp_path / "report.html"
    assert main(["report", "--study", "inverted", "--storage", storage, "--output", str(report)]) == 0
    assert "image_only (baseline) (below chance)" in report.read_text()
