"""A confirmation always ends: a unit that diverges (or runs out of memory) is retried once with a new seed, then
recorded with its reason and counted against fusion; the worker goes on, the verdict says how many units failed,
and a rerun does not replay them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest

import fusion_search.study._confirm as confirm_module
from fusion_search.study._confirm_summary import _blend_auc, is_baseline_role
from fusion_search.cli import main
from fusion_search.results import compare, export_choice, report_html, verdict_note
from fusion_search.trainers import Diverged

TRIALS, FOLDS = 5, 3


@pytest.fixture(scope="module")
def failing_confirmation(demo_manifest, tiny_space, tmp_path_factory):
    """A study whose confirmation sees numeric_only diverge on every attempt and image_only on every first one."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('failing') / 'study.db'}"
    real, first_attempts = confirm_module.train_fold, set()

    def train_fold(design, data, train_idx, val_idx, seed):
        unit = (design.fusion, tuple(val_idx[:4]))
        if design.fusion == "numeric_only" or (design.fusion == "image_only" and unit not in first_attempts):
            first_attempts.add(unit)
            raise Diverged("the training loss became NaN or infinite in epoch 2")
        return real(design, data, train_idx, val_idx, seed=seed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(confirm_module, "train_fold", train_fold)
        code = main(["run", "--data", str(demo_manifest), "--study", "failing", "--space", str(tiny_space),
                     "--trials", str(TRIALS), "--folds", str(FOLDS), "--storage", storage, "--quiet", "--prune-p", "0",
                     "--confirm-repeats", "1"])
    return code, storage


def test_the_run_ends_and_the_confirmation_is_written(failing_confirmation):
    code, storage = failing_confirmation
    assert code == 0
    summary = optuna.load_study(study_name="failing", storage=storage).user_attrs["confirmation"]
    assert {"fusion", "image_only", "gbdt_only"} <= set(summary["designs"])


def test_units_that_failed_twice_are_named_with_their_reason_and_leave_the_baseline_s_folds_out(failing_confirmation):
    _, storage = failing_confirmation
    summary = optuna.load_study(study_name="failing", storage=storage).user_attrs["confirmation"]
    numeric = summary["designs"]["numeric_only"]
    failed_trials = {unit["trial"] for unit in summary["failed_units"]}
    plain = [unit for unit in summary["failed_units"] if "shuffled" not in unit]  # the rest: the shuffled control's
    assert failed_trials == {numeric["trial"]} and len(plain) == FOLDS
    assert all("diverged" in unit["why"] and unit["why"].count("seed") == 2 for unit in summary["failed_units"])
    assert numeric["aucs"] == [None] * FOLDS and numeric["mean_auc"] is None


def test_units_that_failed_once_trained_with_a_new_seed_and_count_normally(failing_confirmation):
    _, storage = failing_confirmation
    summary = optuna.load_study(study_name="failing", storage=storage).user_attrs["confirmation"]
    image = summary["designs"]["image_only"]
    assert {unit["trial"] for unit in summary["retried_units"]} >= {image["trial"]}
    assert all(a is not None for a in image["aucs"]) and image["mean_auc"] is not None


def test_the_verdict_says_how_many_units_failed(failing_confirmation):
    _, storage = failing_confirmation
    study = optuna.load_study(study_name="failing", storage=storage)
    comparison = compare(study)
    assert comparison.confirmed is not None and comparison.confirmed.baseline["fusion"] != "numeric_only"
    failed = len(study.user_attrs["confirmation"]["failed_units"])  # numeric_only's; in the control too if a member
    assert failed in (FOLDS, 2 * FOLDS)
    assert f"{failed} confirmation unit(s) diverged or ran out of memory twice" in comparison.headline
    assert "numeric_only" in comparison.confirmed.unscored_baselines and not comparison.helped  # its ensemble too
    assert "The numeric_only" in comparison.headline and "failed on every fresh fold" in comparison.headline


def test_a_rerun_of_confirm_does_not_replay_the_failed_units(failing_confirmation, demo_manifest):
    _, storage = failing_confirmation
    units = optuna.load_study(study_name="failing:confirm", storage=storage)
    before = [(t.number, t.state) for t in units.trials]
    assert main(["confirm", "--study", "failing", "--data", str(demo_manifest), "--storage", storage, "--quiet"]) == 0
    assert [(t.number, t.state) for t in optuna.load_study(study_name="failing:confirm", storage=storage).trials] == before


def test_the_report_and_the_export_read_a_baseline_whose_every_unit_failed(failing_confirmation, tmp_path):
    _, storage = failing_confirmation
    assert main(["report", "--study", "failing", "--storage", storage, "--output", str(tmp_path / "r.html")]) == 0
    assert "unit(s) failed twice" in (tmp_path / "r.html").read_text()
    assert main(["export", "--study", "failing", "--storage", storage, "--output", str(tmp_path / "best.json")]) == 0
    assert (tmp_path / "best.json").is_file()


@pytest.mark.parametrize("baseline, expected", [(False, 0.5), (True, None)], ids=["fusion candidate", "baseline"])
def test_a_failed_member_makes_the_whole_blended_fold_count_against_its_role(baseline, expected):
    """Blending the other members would simply drop the failed one (its 0.5 is logit 0): the fold scores chance for
    a fusion candidate instead, and no AUC for a baseline."""
    labels = [0, 1, 0, 1, 1, 0]
    done = {(1, 0, 0, ""): {"labels": labels, "scores": [0.1, 0.9, 0.2, 0.8, 0.7, 0.3]},
            (2, 0, 0, ""): {"labels": labels, "scores": None}}
    auc, _, _, failed = _blend_auc(done, {1: 2, 2: 1}, 0, 0, baseline)
    assert auc == expected and failed


def test_a_failed_fold_of_k_classes_scores_every_class_alike_and_a_blend_of_k_columns_is_macro_scored():
    labels = [0, 1, 2, 0, 1, 2]
    done = {(1, 0, 0, ""): {"labels": labels, "scores": np.eye(3)[labels].tolist()},
            (2, 0, 0, ""): {"labels": labels, "scores": None}}
    auc, _, scores, failed = _blend_auc(done, {1: 1, 2: 1}, 0, 0, classes=3)
    assert auc == 0.5 and failed and np.allclose(scores, 1 / 3) and np.shape(scores) == (6, 3)
    done[(2, 0, 0, "")] = {"labels": labels, "scores": (0.8 * np.eye(3)[labels] + 0.1).tolist()}
    auc, _, scores, failed = _blend_auc(done, {1: 1, 2: 1}, 0, 0, classes=3)
    assert auc == 1.0 and not failed and np.shape(scores) == (6, 3)


def test_a_confirmation_whose_every_baseline_failed_ends_without_a_claim(failing_confirmation, tmp_path):
    """Not "confirm it" forever: the confirmation ran, and with no reference scored it can confirm nothing."""
    _, storage = failing_confirmation
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(storage.removeprefix("sqlite:///")).read_bytes())
    study = optuna.load_study(study_name="failing", storage=f"sqlite:///{copy}")
    summary = study.user_attrs["confirmation"]
    for role, design in summary["designs"].items():
        if is_baseline_role(role):
            design.update(aucs=[None] * len(design["aucs"]), mean_auc=None)
    study.set_user_attr("confirmation", summary)
    comparison = compare(study)
    assert comparison.confirmed is None and not comparison.helped and comparison.failed_references
    assert comparison.headline.startswith("Fusion cannot be confirmed: on the fresh folds every baseline")
    assert "not claimed to help" in comparison.headline and "Not confirmed yet" not in comparison.headline
    assert export_choice(study).reason.startswith("every baseline failed on the fresh folds")
    assert "running it again replays none of those units" in report_html(study)
    note = verdict_note(study)
    assert "no reference to test fusion against" in note and "`fusion-search confirm` runs it" not in note


def test_the_control_blends_each_shuffled_member_from_its_shuffled_unit_and_the_others_from_their_own():
    """An image_only member of a fusion ensemble whose table is shuffled reads no table: its ordinary unit serves."""
    labels = [0, 1, 0, 1, 1, 0]
    done = {(1, 0, 0, ""): {"labels": labels, "scores": [0.1, 0.9, 0.2, 0.8, 0.7, 0.3]},  # ranks every row right
            (2, 0, 0, ""): {"labels": labels, "scores": [0.2, 0.8, 0.3, 0.7, 0.6, 0.4]},
            (2, 0, 0, "table"): {"labels": labels, "scores": [0.9, 0.1, 0.8, 0.2, 0.3, 0.7]}}  # ranks every row wrong
    assert _blend_auc(done, {1: 1, 2: 1}, 0, 0)[0] == 1.0
    shuffled_blend = _blend_auc(done, {1: 1, 2: 3}, 0, 0, shuffled={2: "table"})[2]
    assert np.allclose(shuffled_blend, _blend_auc({(2, 0, 0, ""): done[(2, 0, 0, "table")],
                                                   (1, 0, 0, ""): done[(1, 0, 0, "")]}, {1: 1, 2: 3}, 0, 0)[2])


def _companion_with_holdout(study: optuna.Study, fusion_scores: list | None) -> optuna.Study:
    """A finished companion study of two roles (fusion: trial 1, image_only: trial 0) over one fresh fold and the
    held-out rows; the fusion candidate's held-out unit scored `fusion_scores` (None: it failed twice)."""
    companion = optuna.create_study(storage=study._storage, direction="maximize")
    labels = [0, 1, 0, 1]
    units = [{"trial": n, "repeat": r, "fold": r} for n in (0, 1) for r in (0, -1)]
    companion.set_user_attr("plan", {"roles": {"fusion": {"1": 1}, "image_only": {"0": 1}}, "control": {},
                                     "repeats": 1, "folds": 1, "units": units, "search_trials": 2})
    for unit in units:
        scores = fusion_scores if unit == {"trial": 1, "repeat": -1, "fold": -1} else [0.2, 0.7, 0.4, 0.6]
        companion.add_trial(optuna.trial.create_trial(
            value=0.5, user_attrs=unit, system_attrs={"fusion_search:unit_scores": {"labels": labels,
                                                                                     "scores": scores}}))
    return companion


def test_a_failed_held_out_unit_leaves_no_earlier_confirmation_s_scores_behind():
    from fusion_search.study import holdout_scores
    from fusion_search.study._confirm_summary import summarize

    study = optuna.create_study(direction="maximize")
    for name in ("image_only", "concat"):
        study.add_trial(optuna.trial.create_trial(value=0.7, user_attrs={"fusion": name}))
    summarize(study, _companion_with_holdout(study, [0.1, 0.9, 0.2, 0.8]))
    assert holdout_scores(study, "fusion").tolist() == [0.1, 0.9, 0.2, 0.8]
    summary = summarize(study, _companion_with_holdout(study, None))  # the study grew; its new held-out unit failed
    assert summary["designs"]["fusion"]["holdout_failed"] and summary["designs"]["fusion"]["holdout_auc"] is None
    assert holdout_scores(study, "fusion") is None  # not the previous winner's scores, shown as this one's
    assert holdout_scores(study, "image_only").tolist() == [0.2, 0.7, 0.4, 0.6]


def test_confirm_with_zero_repeats_is_refused_in_one_line_not_run_at_the_default(demo_manifest, tmp_path, capsys):
    database = tmp_path / "never.db"
    assert main(["confirm", "--study", "any", "--data", str(demo_manifest), "--storage", f"sqlite:///{database}",
                 "--quiet", "--repeats", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--repeats 0 would confirm nothing" in err
    assert not database.exists()
