"""`fusion-search predict`: score a manifest with an exported model; bad input is a one-line error, never a traceback."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from fusion_search.cli import main
from fusion_search.models import NumericPreprocess
from tests.conftest import manifest_rows, write_rows


@pytest.fixture(scope="module")
def model_path(searched_study, tmp_path_factory) -> Path:
    """The study's concat trial exported with --model (a design that reads images and numbers)."""
    storage, name, manifest = searched_study
    import optuna

    trial = next(t for t in optuna.load_study(study_name=name, storage=storage).trials
                 if t.user_attrs["fusion"] == "concat")
    path = tmp_path_factory.mktemp("model") / "best.keras"
    assert main(["export", "--study", name, "--storage", storage, "--trial", str(trial.number),
                 "--output", str(path.with_suffix(".json")), "--model", str(path), "--data", str(manifest)]) == 0
    return path


def predict(model: Path, data: Path, output: Path) -> tuple[int, list[dict]]:
    code = main(["predict", "--model", str(model), "--data", str(data), "--output", str(output)])
    rows = list(csv.DictReader(output.open())) if output.exists() else []
    return code, rows


def test_predict_scores_every_row_and_prints_the_auc_when_labels_are_present(model_path, searched_study, tmp_path, capsys):
    _, _, manifest = searched_study
    code, rows = predict(model_path, manifest, tmp_path / "p.csv")
    out = capsys.readouterr().out
    assert code == 0 and len(rows) == 60
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    assert "ROC AUC against column 'label':" in out


def test_predict_without_a_label_column_scores_and_prints_no_auc(model_path, searched_study, tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "label"} for r in manifest_rows(searched_study[2])]
    code, scored = predict(model_path, write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert code == 0 and len(scored) == 60 and "AUC" not in capsys.readouterr().out


def test_extra_columns_are_ignored_for_scoring_and_passed_through(model_path, searched_study, tmp_path):
    rows = manifest_rows(searched_study[2])
    _, plain = predict(model_path, write_rows(tmp_path / "plain.csv", rows), tmp_path / "a.csv")
    extra = [{"patient": f"p{i}", **r, "site": "north"} for i, r in enumerate(rows)]
    code, scored = predict(model_path, write_rows(tmp_path / "extra.csv", extra), tmp_path / "b.csv")
    assert code == 0
    assert [r["score"] for r in scored] == [r["score"] for r in plain]
    assert scored[3]["patient"] == "p3" and scored[3]["site"] == "north"


def test_missing_numbers_are_imputed_with_the_training_median(model_path, searched_study, tmp_path):
    model = keras.saving.load_model(model_path, safe_mode=True)
    median = next(l for l in model.layers if isinstance(l, NumericPreprocess)).medians[0]  # "measurement"
    rows = manifest_rows(searched_study[2])[:2]
    gap, filled = [{**rows[0], "measurement": ""}, {**rows[0], "measurement": "NaN"}], {**rows[0], "measurement": repr(median)}
    code, scored = predict(model_path, write_rows(tmp_path / "gaps.csv", [*gap, filled, rows[1]]), tmp_path / "p.csv")
    assert code == 0
    assert float(scored[0]["score"]) == float(scored[1]["score"]) == pytest.approx(float(scored[2]["score"]), abs=2e-6)


def assert_one_line_error(capsys, code: int, *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("fusion-search: error:"), err
    for fragment in fragments:
        assert fragment in err


def test_a_missing_numeric_column_is_named(model_path, searched_study, tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "noise_a"} for r in manifest_rows(searched_study[2])]
    code, _ = predict(model_path, write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "lacks numeric column(s) the model needs: noise_a")
    assert not (tmp_path / "p.csv").exists()


def test_a_non_numeric_value_is_named_with_its_row_and_a_fix_predict_takes(model_path, searched_study, tmp_path,
                                                                           capsys):
    """predict has no --categorical-columns: the model fixes which columns are numbers, so the cell is what to fix."""
    rows = manifest_rows(searched_study[2])
    rows[4]["noise_b"] = "high"
    code, _ = predict(model_path, write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == (
        "fusion-search: error: numeric column 'noise_b' has a non-numeric value 'high' on row 6 (the model reads "
        "this column as numbers: correct the cell, or leave it blank to score it as missing)")


def test_an_unreadable_image_is_named_and_nothing_is_written(model_path, searched_study, tmp_path, capsys):
    rows = manifest_rows(searched_study[2])
    (tmp_path / "broken.png").write_bytes(b"not a png")
    rows[2]["image"] = str(tmp_path / "broken.png")
    rows[7]["image"] = str(tmp_path / "gone.png")
    code, _ = predict(model_path, write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "row 4 (broken.png: not an image)", "row 9 (gone.png: missing)")
    assert not (tmp_path / "p.csv").exists()


def test_images_of_another_size_are_resized_to_the_models(model_path, searched_study, tmp_path):
    rows = manifest_rows(searched_study[2])[:3]
    big = tmp_path / "big.png"
    Image.open(rows[0]["image"]).resize((64, 64)).save(big)
    code, scored = predict(model_path, write_rows(tmp_path / "new.csv", [{**rows[0], "image": str(big)}, *rows[1:]]),
                           tmp_path / "p.csv")
    assert code == 0 and np.isfinite([float(r["score"]) for r in scored]).all()


def test_a_file_that_is_not_a_model_is_a_one_line_error(searched_study, tmp_path, capsys):
    (tmp_path / "fake.keras").write_text("hello")
    code, _ = predict(tmp_path / "fake.keras", searched_study[2], tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "cannot load model")


def test_a_model_whose_provenance_is_damaged_stops_in_one_line_and_writes_nothing(model_path, searched_study,
                                                                                 tmp_path, capsys):
    damaged = tmp_path / "damaged.keras"
    with zipfile.ZipFile(model_path) as source, zipfile.ZipFile(damaged, "w") as copy:
        for entry in source.namelist():
            copy.writestr(entry, source.read(entry) if entry != "fusion_search.json" else b'{"label_column": "lab')
    code, _ = predict(damaged, searched_study[2], tmp_path / "p.csv")
    assert_one_line_error(capsys, code, f"cannot read what export {damaged} remembers: fusion_search.json is not "
                                        "valid JSON")
    assert not (tmp_path / "p.csv").exists()
