"""Inside a training fold: groups stay on one side of every split (early-stopping slice, the trees' validation
rows, the stacked design's inner folds); a diverging design ends PRUNED as 'diverged'; folds too small to split
again are refused up front; a study whose every trial failed exits non-zero."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from keras import layers, ops

import fusion_search.trainers._fold as fold
import fusion_search.trainers._stacked as stacked
from fusion_search.cli import main
from fusion_search.data import ManifestSpec, fold_indices, inner_folds, prepare_data, stopping_split
from fusion_search.designs import Design, DesignKind, register_design, unregister_design
from fusion_search.models import Fusion, register_fusion, unregister_fusion
from fusion_search.spaces import parse_space
from fusion_search.study import CrossValidatedObjective, diverged, state_counts
from fusion_search.trainers import fold_data, train_fold
from tests.conftest import TINY_SPACE, write_manifest

TINY = Design(backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3, epochs=2, patience=2,
              image_units=4, numeric_units=4, numeric_width=4, head_units=4, batch_size=16, stacked_inner_folds=3,
              gbdt_min_samples_leaf=3)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    """60 rows in 20 patients of 3 photos each; the label follows the patient."""
    rng = np.random.default_rng(0)
    rows, images = [], []
    for i in range(60):
        patient = i // 3
        rows.append({"image": f"i/{i}.png", "label": patient % 2, "x": f"{rng.normal() + patient % 2:.3f}",
                     "patient": f"p{patient}"})
        images.append(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    path = write_manifest(tmp_path_factory.mktemp("grouped"), rows, images)
    return prepare_data(path, k=3, fold_seed=0, spec=ManifestSpec(group_column="patient"))


def one_sided(groups: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) > 0 and len(b) > 0 and not set(groups[a]) & set(groups[b])


def test_the_split_functions_keep_groups_whole():
    labels, groups = np.tile([0, 0, 1, 1], 25), np.repeat(np.arange(50), 2)
    rows = np.arange(100)
    fit, stop = stopping_split(labels, rows, 0.15, seed=1, groups=groups)
    assert one_sided(groups, fit, stop) and 0.08 < len(stop) / 100 < 0.25 and set(labels[stop]) == {0, 1}
    for fit, held in inner_folds(labels, rows, 3, seed=1, groups=groups):
        assert one_sided(groups, fit, held)


def recorder(monkeypatch, module, name: str) -> list:
    """Every result of module.name during the test (the trainer's own call, unchanged)."""
    seen, real = [], getattr(module, name)

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(module, name, wrapped)
    return seen


@pytest.mark.parametrize("fusion, module, name", [
    ("concat", fold, "stopping_split"),  # the network's early-stopping slice (early_stopping_slice asks it)
    ("gbdt_only", fold, "stopping_split"),  # the trees' validation rows
    ("stacked", stacked, "inner_folds"),  # the stacked design's inner folds
])
def test_no_group_sits_on_both_sides_of_a_split_inside_a_training_fold(grouped, monkeypatch, fusion, module, name):
    seen = recorder(monkeypatch, module, name)
    design = Design.from_params({**TINY.to_params(), "fusion": fusion})
    train, val = fold_indices(grouped.folds, 0)
    train_fold(design, fold_data(grouped, design), train, val, seed=3)
    groups = grouped.manifest.groups
    splits = [pair for result in seen for pair in (result if name == "inner_folds" else [result])]
    assert splits and all(one_sided(groups, a, b) for a, b in splits)
    assert all(set(a) | set(b) <= set(train) for a, b in splits)  # never the scored fold


class Explode(layers.Layer):
    """log(-1): NaN from the first step."""

    def call(self, x):
        return ops.log(x * 0.0 - 1.0)


class Exploding(Fusion):
    name = "exploding"

    def fuse(self, v, t):  # the logit itself (no head, whose ReLU could hide a NaN)
        return Explode()(layers.Dense(1)(layers.Concatenate()([v, t])))


@pytest.fixture
def exploding():
    register_design(DesignKind("exploding", "a fusion whose output is NaN", outputs_logit=True))
    register_fusion(Exploding)
    yield
    unregister_fusion("exploding")
    unregister_design("exploding")


def test_a_design_whose_loss_turns_nan_ends_pruned_as_diverged(exploding, grouped):
    space = parse_space({"fixed": {k: v for k, v in TINY.to_params().items() if k != "fusion"},
                         "search": {"fusion": {"choices": ["exploding"]}}}, "t", "test")
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"fusion": "exploding"})
    study.optimize(CrossValidatedObjective(grouped, space, seed=0), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["diverged"].startswith("diverged: the training loss became NaN")
    assert diverged(study) == [trial] and state_counts(study) == {"DIVERGED": 1}


def test_folds_too_small_to_split_again_are_refused_before_any_study_and_at_two_folds_not_told_fewer(
        tmp_path, tiny_space, capsys):
    rows = [{"image": f"i/{i}.png", "label": int(i < 2), "x": i} for i in range(20)]  # 2 positives
    manifest = write_manifest(tmp_path, rows, [np.zeros((8, 8, 3), np.uint8)] * 20)
    db = tmp_path / "s.db"
    assert main(["run", "--data", str(manifest), "--study", "s", "--space", str(tiny_space), "--folds", "2",
                 "--trials", "3", "--quiet", "--storage", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "in a training fold, the positive class has only 1 row, too few" in err
    assert err.endswith(": add rows of it to the manifest") and "fewer --folds" not in err  # (2 folds: the least)
    assert not db.exists()


def test_a_study_whose_every_trial_failed_exits_non_zero(demo_manifest, tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ValueError("a design that cannot train")

    monkeypatch.setattr("fusion_search.study._objective.train_fold", broken)
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE)
    code = main(["run", "--data", str(demo_manifest), "--study", "s", "--space", str(space), "--folds", "3",
                 "--trials", "3", "--quiet", "--storage", f"sqlite:///{tmp_path / 's.db'}"])
    assert code == 1 and "every trial failed" in capsys.readouterr().err
