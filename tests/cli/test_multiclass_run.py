"""A study of seven classes (string labels, a string column), as a user runs it: `run` lists the classes and
searches, confirms and tests on held-out rows by the macro one-vs-rest AUC; `status` and `report` show each class;
`export` and `predict` give one probability column per class; `fusion_search.search` returns the same."""

from __future__ import annotations

import contextlib
import csv
import io

import numpy as np
import optuna
import pandas as pd
import pytest

import fusion_search
from fusion_search.cli import main
from fusion_search.data import LESION_NAMES, make_multiclass_dataset
from fusion_search.results import compare
from fusion_search.trainers import fold_auc

ROWS, CLASSES = 168, 7  # 24 rows a class


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seven")
    return make_multiclass_dataset(folder / "data", rows=ROWS, classes=CLASSES, image_size=16, seed=1), folder


@pytest.fixture(scope="module")
def ran(seven, tiny_space):
    """`run` on the 7-class table: (exit code, its stderr, storage URL)."""
    manifest, folder = seven
    storage = f"sqlite:///{folder / 'seven.db'}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", "--data", str(manifest), "--study", "seven", "--storage", storage, "--space",
                     str(tiny_space), "--trials", "6", "--folds", "3", "--label-column", "diagnosis", "--holdout",
                     "0.25", "--confirm-repeats", "1", "--confirm-folds", "3", "--quiet"])
    return code, err.getvalue(), storage


def test_run_lists_the_classes_and_scores_every_trial_by_the_macro_auc(ran):
    code, err, storage = ran
    assert code == 0
    assert "label: 7 classes, scored by macro one-vs-rest AUC: akiec " in err
    study = optuna.load_study(study_name="seven", storage=storage)
    assert [name for name, _ in study.user_attrs["classes"]] == sorted(LESION_NAMES)
    assert sum(rows for _, rows in study.user_attrs["classes"]) == ROWS
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert sorted(trial.user_attrs["class_aucs"]) == sorted(LESION_NAMES)
        assert np.mean(list(trial.user_attrs["class_aucs"].values())) == pytest.approx(trial.user_attrs["oof_auc"],
                                                                                        abs=1e-5)


def test_the_confirmation_tests_the_held_out_rows_by_a_paired_bootstrap(ran):
    _, _, storage = ran
    done = compare(optuna.load_study(study_name="seven", storage=storage)).confirmed
    assert done is not None and done.holdout is not None
    assert done.holdout.method == "paired bootstrap" and done.holdout.rows == ROWS // 4
    assert 0 < done.holdout.auc_a <= 1 and np.isfinite(done.holdout.z)


def test_status_shows_each_class_with_its_best_design(ran, capsys):
    _, _, storage = ran
    capsys.readouterr()
    assert main(["status", "--study", "seven", "--storage", storage]) == 0
    out = capsys.readouterr().out
    assert "per class: one-vs-rest AUC out of fold" in out
    assert all(f"\n│ {name} " in out for name in LESION_NAMES)
    assert "Per class, out of fold (one-vs-rest AUC of trial" in out


def test_the_dashboard_note_holds_the_per_class_table(ran):
    from fusion_search.results import verdict_note

    note = verdict_note(optuna.load_study(study_name="seven", storage=ran[2]))
    assert "### Per class (one-vs-rest AUC out of fold" in note
    assert all(f"\n| {name} | 24 | " in note for name in LESION_NAMES)


def test_the_report_draws_a_roc_panel_per_class(ran, tmp_path):
    _, _, storage = ran
    page = tmp_path / "report.html"
    assert main(["report", "--study", "seven", "--storage", storage, "--out", str(page)]) == 0
    text = page.read_text()
    assert "One panel per class" in text and "fusion gain" in text
    assert all(f'"text":"{name}"' in text for name in LESION_NAMES)  # the subplot titles


def test_export_and_predict_give_a_probability_column_per_class_and_the_macro_auc(ran, seven, tmp_path, capsys):
    manifest, _ = seven
    _, _, storage = ran
    model = tmp_path / "best.keras"
    fusion = compare(optuna.load_study(study_name="seven", storage=storage)).fusion  # a network of the tiny space
    assert main(["export", "--study", "seven", "--storage", storage, "--trial", str(fusion.number), "--output",
                 str(tmp_path / "best.json"), "--model", str(model), "--data", str(manifest),
                 "--label-column", "diagnosis"]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(manifest), "--output", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    names = sorted(LESION_NAMES)
    probabilities = np.array([[float(row[f"p_{name}"]) for name in names] for row in rows])
    labels = np.array([names.index(row["diagnosis"]) for row in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert [row["predicted"] for row in rows] == [names[k] for k in probabilities.argmax(axis=1)]
    assert f"macro one-vs-rest ROC AUC against column 'diagnosis': {fold_auc(labels, probabilities):.4f}" in out


def test_the_python_api_searches_k_classes_and_predicts_k_probabilities(seven, tiny_space):
    manifest, folder = seven
    frame = pd.read_csv(manifest)
    result = fusion_search.search(frame, label_column="diagnosis", space=tiny_space, trials=4, folds=3,
                                  confirm_repeats=0, study="seven-api", storage=f"sqlite:///{folder / 'api.db'}",
                                  base_dir=manifest.parent)
    assert result.classes == tuple(sorted(LESION_NAMES))
    scores = result.predict(frame.head(20))
    assert scores.shape == (20, CLASSES)
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-5)
