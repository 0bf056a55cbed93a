"""`export --model`: the chosen design retrained on all the data, saved as a standard .keras file
that opens with safe_mode=True and scores raw manifest rows (numeric preprocessing inside)."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import optuna
import pytest
import yaml

from fusion_search.cli import main
from fusion_search.data import decode_images, read_manifest
from fusion_search.designs import get_kind
from fusion_search.results import export_choice
from fusion_search.serving._export_model import final_design, final_epochs, save_atomically, train_final_model


def concat_trial(storage: str, name: str) -> tuple[optuna.Study, optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=storage)
    return study, next(t for t in study.trials if t.user_attrs["fusion"] == "concat")


@pytest.fixture(scope="module")
def exported(searched_study, tmp_path_factory):
    """The concat trial exported through the CLI: (record, model path)."""
    storage, name, manifest = searched_study
    _, trial = concat_trial(storage, name)
    folder = tmp_path_factory.mktemp("export")
    code = main(["export", "--study", name, "--storage", storage, "--trial", str(trial.number),
                 "--output", str(folder / "best.json"), "--model", str(folder / "best.keras"), "--data", str(manifest)])
    assert code == 0
    return json.loads((folder / "best.json").read_text()), folder / "best.keras"


def test_export_writes_the_record_and_a_model_that_opens_in_safe_mode(exported, searched_study):
    record, path = exported
    model = keras.saving.load_model(path, safe_mode=True)
    assert record["fusion"] == "concat" and record["model"]["path"] == str(path)
    assert sorted(t.name for t in model.inputs) == ["image", "numeric"] == record["model"]["inputs"]
    assert record["model"]["numeric_columns"] == ["measurement", "noise_a", "noise_b"]
    assert record["model"]["rows"] == 60


def test_retrained_epochs_are_the_median_of_the_folds_epochs(exported, searched_study):
    storage, name, _ = searched_study
    _, trial = concat_trial(storage, name)
    assert exported[0]["model"]["epochs"] == int(np.median(trial.user_attrs["epochs"]))
    skipped = optuna.trial.create_trial(value=0.7, user_attrs={"epochs": [3, 5, 4, None]})
    assert final_epochs(skipped) == 4  # a pruned trial's untrained folds do not count


def test_saved_model_predicts_the_training_manifest_as_the_in_memory_model(searched_study, tmp_path):
    storage, name, manifest_path = searched_study
    study, trial = concat_trial(storage, name)
    design = final_design(study, trial)
    manifest = read_manifest(manifest_path)
    images = decode_images(manifest.image_paths, design.image_size)
    assert np.isnan(manifest.numeric).any()  # the demo data has gaps: imputation is part of what is compared
    model = train_final_model(design, manifest, images, seed=0)
    in_memory = model.predict({"image": images, "numeric": manifest.numeric}, verbose=0).reshape(-1)
    save_atomically(model, tmp_path / "m.keras")
    keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)  # loads without unsafe deserialisation
    assert main(["predict", "--model", str(tmp_path / "m.keras"), "--data", str(manifest_path),
                 "--output", str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open() as handle:
        predicted = np.array([float(row["score"]) for row in csv.DictReader(handle)])
    np.testing.assert_allclose(predicted, in_memory, atol=2e-6)


def test_yaml_format_holds_the_same_record(searched_study, tmp_path):
    storage, name, _ = searched_study
    assert main(["export", "--study", name, "--storage", storage, "--format", "yaml",
                 "--output", str(tmp_path / "best.yaml")]) == 0
    assert main(["export", "--study", name, "--storage", storage, "--output", str(tmp_path / "best.json")]) == 0
    as_yaml = yaml.safe_load((tmp_path / "best.yaml").read_text())
    as_json = json.loads((tmp_path / "best.json").read_text())
    choice = export_choice(optuna.load_study(study_name=name, storage=storage))  # what the verdict stands behind
    assert as_yaml == as_json and as_yaml["chosen"] == choice.record()


def test_export_refuses_a_manifest_that_is_not_the_studys_data(searched_study, tmp_path, capsys):
    storage, name, manifest = searched_study
    rows = list(csv.DictReader(manifest.open()))
    rows[0]["measurement"] = "123.0"
    other = tmp_path / "other.csv"
    with other.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "image": str(manifest.parent / r["image"])} for r in rows)
    code = main(["export", "--study", name, "--storage", storage, "--output", str(tmp_path / "best.json"),
                 "--model", str(tmp_path / "best.keras"), "--data", str(other)])
    assert code == 2
    assert "is not the data study 'tiny' was searched on" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.csv"]  # nothing half-written


@pytest.mark.parametrize("flags, message", [
    (["--model", "best.keras"], "give the manifest with --data"),
    (["--model", "best.h5", "--data", "MANIFEST"], "must name a .keras file"),
])
def test_export_model_flag_errors_are_one_line(searched_study, tmp_path, capsys, flags, message):
    storage, name, manifest = searched_study
    flags = [str(tmp_path / f) if f.startswith("best") else str(manifest) if f == "MANIFEST" else f for f in flags]
    code = main(["export", "--study", name, "--storage", storage, "--output", str(tmp_path / "best.json"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_hybrid_design_given_a_keras_path_is_refused_before_training(searched_study, tmp_path, capsys):
    storage, name, manifest = searched_study
    study = optuna.load_study(study_name=name, storage=storage)
    hybrid = [t for t in study.trials if not get_kind(t.user_attrs["fusion"]).neural]
    assert hybrid, "the searched study runs the gbdt_only baseline"
    code = main(["export", "--study", name, "--storage", storage, "--trial", str(hybrid[0].number),
                 "--output", str(tmp_path / "best.json"), "--model", str(tmp_path / "best.keras"), "--data", str(manifest)])
    assert code == 2 and "give --model a folder ending in .fusion" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
