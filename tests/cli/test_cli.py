"""The command line end to end on tiny data: run, status, export, reproducibility, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.metrics import roc_auc_score

from fusion_search.cli import main
from fusion_search.results import export_choice, leaderboard_rows
from tests.conftest import TINY_SPACE, write_manifest

EXPORT_KEYS = {"study", "trial", "mean_auc", "std_auc", "fold_aucs", "params", "baselines", "data", "versions"}


@pytest.fixture(scope="module")
def clinic_manifest(tmp_path_factory) -> Path:
    """A generator the package has never seen: squares whose size carries the signal, a clinic per group."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("clinic")
    rows, images = [], []
    for i in range(72):
        latent = rng.normal()
        image = np.zeros((20, 20, 3), dtype=np.uint8)
        side = int(np.clip(8 + 3 * latent, 2, 18))
        image[:side, :side] = (200, 60, 60)
        images.append(image)
        rows.append({"scan": f"scans/{i}.png", "diagnosis": "pos" if latent + 0.5 * rng.normal() > 0 else "neg",
                     "age": f"{40 + 10 * rng.normal():.1f}", "bmi": "" if i % 9 == 0 else f"{25 + rng.normal():.2f}",
                     "clinic": f"c{i % 12}"})
    return write_manifest(folder, rows, images, image_column="scan")


def _run_args(manifest: Path, storage: str, space: Path, study="clinic", seed=0, trials=5) -> list[str]:
    return ["run", "--data", str(manifest), "--study", study, "--space", str(space), "--trials", str(trials),
            "--folds", "3", "--seed", str(seed), "--storage", storage, "--quiet", "--prune-p", "0",
            "--image-column", "scan", "--label-column", "diagnosis", "--positive", "pos",
            "--group-column", "clinic", "--numeric-columns", "age,bmi"]


@pytest.fixture(scope="module")
def finished_study(clinic_manifest, tiny_space, tmp_path_factory):
    storage = f"sqlite:///{tmp_path_factory.mktemp('db') / 'study.db'}"
    assert main(_run_args(clinic_manifest, storage, tiny_space)) == 0
    return storage


def test_run_on_an_unseen_manifest_completes_the_study_with_baselines_first(finished_study):
    study = optuna.load_study(study_name="clinic", storage=finished_study)
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 5
    assert [t.params["fusion"] for t in trials[:2]] == ["image_only", "numeric_only"]
    for trial in trials:
        assert len(trial.user_attrs["fold_aucs"]) == 3
        assert trial.value == pytest.approx(np.mean(trial.user_attrs["fold_aucs"]), abs=1e-6)
        assert {"std_auc", "oof_auc", "train_seconds", "epochs"} <= set(trial.user_attrs)
    assert study.user_attrs["data_rows"] == 72 and study.user_attrs["folds"] == 3


def test_resuming_with_more_trials_adds_only_the_difference(finished_study, clinic_manifest, tiny_space):
    assert main(_run_args(clinic_manifest, finished_study, tiny_space, study="clinic", trials=5)) == 0
    assert len(optuna.load_study(study_name="clinic", storage=finished_study).trials) == 5


def test_export_writes_the_verdicts_choice_as_json_and_says_which_in_one_line(finished_study, tmp_path, capsys):
    output = tmp_path / "best.json"
    assert main(["export", "--study", "clinic", "--storage", finished_study, "--output", str(output)]) == 0
    record = json.loads(output.read_text())
    assert EXPORT_KEYS - {"trial", "mean_auc", "std_auc", "fold_aucs", "params"} <= set(record)
    study = optuna.load_study(study_name="clinic", storage=finished_study)
    choice = export_choice(study)
    assert record["chosen"] == choice.record() and choice.by == "verdict"  # the study was confirmed
    if choice.trial is not None:
        assert EXPORT_KEYS <= set(record) and record["trial"] == choice.trial
    out, err = capsys.readouterr()
    assert out == ""  # --output FILE: the record is written there, not printed too
    assert f"exported {choice.record()['what']}: {choice.reason}\n" in err  # one line
    assert set(record["baselines"]) == {"image_only", "numeric_only", "gbdt_only"}
    assert all(isinstance(v, float) for v in record["baselines"].values())
    assert record["data"]["rows"] == 72 and len(record["data"]["fingerprint"]) == 16
    assert "keras" in record["versions"] and "optuna" in record["versions"]


def test_predict_reads_the_label_and_positive_class_from_the_model_and_warns_on_training_rows(
        finished_study, clinic_manifest, tmp_path, capsys):
    """The study's labels are pos/neg (--positive pos at the search); predict needs neither flag again, and scoring
    the training manifest says that its AUC is in-sample."""
    model = tmp_path / "m.keras"
    assert main(["export", "--study", "clinic", "--storage", finished_study, "--trial", "0", "--output",
                 str(tmp_path / "m.json"), "--model", str(model), "--data", str(clinic_manifest),
                 "--image-column", "scan", "--label-column", "diagnosis", "--positive", "pos",
                 "--group-column", "clinic", "--numeric-columns", "age,bmi"]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(clinic_manifest), "--image-column", "scan",
                 "--output", str(tmp_path / "p.csv")]) == 0
    out, err = capsys.readouterr()
    assert "ROC AUC against column 'diagnosis': " in out
    assert "warning: 72 of 72 rows are rows the model was trained on" in err and "in-sample" in err


def test_status_shows_counts_and_both_baselines(finished_study, capsys):
    assert main(["status", "--study", "clinic", "--storage", finished_study]) == 0
    out = capsys.readouterr().out
    assert "5 complete" in out
    # at 120 columns a long design name wraps inside its cell ("numeric_only" / "(baseline)"), so the rows say it
    assert "image_only" in out and "numeric_only" in out and out.count("(baseline)") >= 2
    designs = {row["design"] for row in leaderboard_rows(optuna.load_study(study_name="clinic", storage=finished_study))}
    assert {"image_only (baseline)", "numeric_only (baseline)"} <= designs


def test_same_seed_samples_the_same_designs_and_fold_aucs(finished_study, clinic_manifest, tiny_space, tmp_path):
    again = f"sqlite:///{tmp_path / 'again.db'}"
    assert main(_run_args(clinic_manifest, again, tiny_space)) == 0
    first = optuna.load_study(study_name="clinic", storage=finished_study).trials
    second = optuna.load_study(study_name="clinic", storage=again).trials
    assert [t.params for t in first] == [t.params for t in second]
    assert [np.round(t.user_attrs["fold_aucs"], 3).tolist() for t in first] == \
           [np.round(t.user_attrs["fold_aucs"], 3).tolist() for t in second]


def _bad_space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


BAD_INPUTS = [
    ("missing manifest", lambda m, t: ["--data", str(t / "nope.csv")], "manifest not found"),
    ("missing image column", lambda m, t: ["--image-column", "picture"], "no column 'picture'"),
    ("missing label column", lambda m, t: ["--label-column", "outcome"], "no column 'outcome'"),
    ("positive not a label", lambda m, t: ["--positive", "maybe"], "--positive 'maybe'"),
    ("too many folds", lambda m, t: ["--folds", "20"], "for 20 folds"),
    ("unknown space", lambda m, t: ["--space", "galactic"], "unknown space 'galactic'"),
    ("malformed space", lambda m, t: ["--space", str(_bad_space(t, TINY_SPACE.replace("log: true", "log: true, hgih: 3", 1)))],
     "search.image_units.hgih: unknown key"),
    ("unknown fusion", lambda m, t: ["--space", str(_bad_space(t, TINY_SPACE.replace("late]", "telepathy]")))],
     "unknown value 'telepathy'"),
    ("unknown backbone", lambda m, t: ["--space", str(_bad_space(t, TINY_SPACE.replace("small_cnn", "resnet999")))],
     "fixed.backbone: unknown value 'resnet999'"),
]


@pytest.mark.parametrize("case, extra, message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_no_study(case, extra, message, clinic_manifest, tiny_space, tmp_path,
                                                    capsys):
    db = tmp_path / "bad.db"
    args = _run_args(clinic_manifest, f"sqlite:///{db}", tiny_space, study="bad") + extra(clinic_manifest, tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not db.exists()


def test_broken_images_and_bad_numbers_are_refused_before_any_study(clinic_manifest, tiny_space, tmp_path, capsys):
    folder = tmp_path / "broken"
    rows = [dict(r) for r in __import__("csv").DictReader(clinic_manifest.open())]
    for row in rows:
        row["scan"] = str(clinic_manifest.parent / row["scan"])
    rows[3]["scan"] = str(folder / "gone.png")
    manifest = write_manifest(folder, rows)
    db = tmp_path / "x.db"
    assert main(_run_args(manifest, f"sqlite:///{db}", tiny_space, study="x")) == 2
    assert "row 5 (gone.png: missing)" in capsys.readouterr().err
    rows[3]["scan"], rows[4]["age"] = rows[2]["scan"], "forty"
    manifest = write_manifest(folder, rows)
    assert main(_run_args(manifest, f"sqlite:///{db}", tiny_space, study="x")) == 2
    assert "non-numeric value 'forty' on row 6" in capsys.readouterr().err
    assert not db.exists()


def test_an_unreachable_database_is_refused_before_any_image_is_decoded_or_cached(clinic_manifest, tiny_space,
                                                                                   tmp_path, capsys, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(cache))
    monkeypatch.setenv("FUSION_SEARCH_STORAGE", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    args = _run_args(clinic_manifest, "", tiny_space, study="unreachable")
    del args[args.index("--storage"):args.index("--storage") + 2]  # the storage comes from the environment
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "cannot open storage postgresql+psycopg://nobody@127.0.0.1:1/none" in err
    assert not cache.exists()  # no image decoded into it, no fingerprint memo


def test_the_installed_command_reports_a_user_error_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fusion_search.cli", "run", "--data", str(tmp_path / "none.csv"),
                             "--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"fusion-search: error: manifest not found: {tmp_path / 'none.csv'}"]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "run", "status", "export", "spaces"):
        assert command in out


def test_export_help_says_it_exports_what_the_verdict_stands_behind_not_the_best(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "instead of the best" not in out
    assert "export this trial number instead of what the verdict stands behind" in out
    assert "a folder ending in .ensemble when the choice is an ensemble" in out  # (--model, for the verdict's choice)


def test_predict_help_names_every_kind_of_model_it_reads_ensembles_too(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "a .keras file, a .fusion folder (trees or stacking) or an .ensemble folder" in out


def test_an_offline_run_of_the_default_space_leaves_no_study_and_the_retry_with_quick_works(clinic_manifest, tmp_path,
                                                                                           capsys, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no internet")  # what Keras's download raises on a machine without one

    monkeypatch.setattr(file_utils, "get_file", offline)
    db = tmp_path / "offline.db"
    args = _run_args(clinic_manifest, f"sqlite:///{db}", "default", study="offline") + ["--trials", "1",
                                                                                        "--confirm-repeats", "0"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "could not get imagenet weights for 'vgg16'" in err and len(err.splitlines()) == 1
    assert not db.exists()  # the checks ran before any study was made
    assert main([*args, "--space", "quick"]) == 0
    study = optuna.load_study(study_name="offline", storage=f"sqlite:///{db}")
    assert study.user_attrs["space"] == "quick"
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 1


def test_a_three_class_label_runs_merged_and_predict_applies_the_recorded_merge(clinic_manifest, tiny_space, tmp_path,
                                                                                capsys):
    """diagnosis gets a third class, 'unsure' (every third 'pos' row): with --merge-classes pos,unsure --positive
    pos+unsure it runs as two classes, and predict scores the merged label without either flag."""
    rows = [dict(r) for r in __import__("csv").DictReader(clinic_manifest.open())]
    positives = [row for row in rows if row["diagnosis"] == "pos"]
    for row in positives[::3]:
        row["diagnosis"] = "unsure"
    for row in rows:
        row["scan"] = str(clinic_manifest.parent / row["scan"])
    manifest = write_manifest(tmp_path / "three", rows)
    db = tmp_path / "three.db"
    args = [a for a in _run_args(manifest, f"sqlite:///{db}", tiny_space, study="three", trials=3)
            if a not in ("--positive", "pos")]
    flags = ["--merge-classes", "pos,unsure", "--positive", "pos+unsure"]
    assert main(args + flags) == 0
    model = tmp_path / "m.keras"
    assert main(["export", "--study", "three", "--storage", f"sqlite:///{db}", "--trial", "0", "--output",
                 str(tmp_path / "m.json"), "--model", str(model), "--data", str(manifest), "--image-column", "scan",
                 "--label-column", "diagnosis", "--group-column", "clinic", "--numeric-columns", "age,bmi",
                 *flags]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(manifest), "--image-column", "scan",
                 "--output", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    scored = list(__import__("csv").DictReader((tmp_path / "p.csv").open()))
    merged = [int(row["diagnosis"] in ("pos", "unsure")) for row in scored]
    expected = roc_auc_score(merged, [float(row["score"]) for row in scored])
    assert f"ROC AUC against column 'diagnosis': {expected:.4f}" in out
