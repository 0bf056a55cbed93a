"""`export --model NAME.fusion` and `predict` for the hybrid designs: trees saved as plain arrays that
score exactly as scikit-learn's, one export folder per design that predicts what the retrained pieces
predicted in memory, and nothing in a folder is ever unpickled."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from fusion_search import UserError
from fusion_search.cli import main
from fusion_search.data import decode_images, read_manifest
from fusion_search.serving import export_model, load_hybrid, retrain, save_model, study_rows
from fusion_search.serving._tree_file import from_sklearn, load_trees, save_trees
from tests.conftest import manifest_rows, write_rows

HYBRIDS = ["gbdt_only", "stacked", "gbdt_on_embedding"]
FIXED = {"backbone": "small_cnn", "weights": "none", "image_size": 16, "trainable_blocks": 3, "epochs": 2,
         "patience": 0, "image_units": 8, "numeric_layers": 1, "numeric_width": 8, "head_layers": 1, "head_units": 8,
         "batch_size": 16, "gbdt_max_leaf_nodes": 8, "gbdt_min_samples_leaf": 5, "stacked_inner_folds": 2,
         "embedding_dims": 3}


# --- the tree file ------------------------------------------------------------------------------

def _rows_with_gaps(rows=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = (x[:, 0] + np.where(np.isnan(x[:, 1]), 1.0, x[:, 1]) > 0.3).astype(int)
    x[rng.random(x.shape) < 0.2] = np.nan
    y[np.isnan(x[:, 2])] = 1  # missingness carries signal: trees must route NaN both ways
    return x, y


def test_tree_arrays_score_exactly_as_scikit_learn_on_rows_with_missing_values(tmp_path):
    x, y = _rows_with_gaps()
    trees = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=8, random_state=0).fit(x[:300], y[:300])
    save_trees(from_sklearn(trees), tmp_path / "trees.npz")
    loaded = load_trees(tmp_path / "trees.npz")
    unseen = x[300:]
    assert np.isnan(unseen).any(axis=1).sum() > 20
    np.testing.assert_allclose(loaded.predict_proba(unseen), trees.predict_proba(unseen)[:, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.raw(unseen), trees.decision_function(unseen), rtol=0, atol=1e-12)


def test_tree_arrays_with_categorical_splits_score_exactly_as_scikit_learn(tmp_path):
    """Category codes in two columns, missing codes, and at scoring time codes no training row had (negative,
    too large, never seen): every row goes where scikit-learn sends it."""
    rng = np.random.default_rng(1)
    x, _ = _rows_with_gaps(rows=1200)
    x[:, 1] = rng.integers(0, 40, len(x))
    x[:, 3] = rng.integers(3, 9, len(x))
    x[rng.random(len(x)) < 0.1, 1] = np.nan
    y = (((x[:, 1] % 3 == 0) ^ (np.nan_to_num(x[:, 0]) > 0)) | (x[:, 3] == 4)).astype(int)
    trees = HistGradientBoostingClassifier(max_iter=40, categorical_features=[1, 3], random_state=0).fit(x[:900], y[:900])
    unseen = x[900:].copy()
    unseen[:40, 1] = rng.integers(-3, 80, 40)  # codes training never had
    unseen[40:60, 3] = 11
    save_trees(from_sklearn(trees), tmp_path / "trees.npz")
    loaded = load_trees(tmp_path / "trees.npz")
    assert loaded.is_categorical.any()
    np.testing.assert_allclose(loaded.raw(unseen), trees.decision_function(unseen), rtol=0, atol=1e-12)


def test_categorical_codes_a_tree_file_cannot_hold_are_refused():
    x, y = _rows_with_gaps()
    x[:, 3] = np.random.default_rng(1).choice([0.5, 1.5, 2.5], len(x))  # not integer codes
    y = (x[:, 3] == 1.5).astype(int)
    trees = HistGradientBoostingClassifier(max_iter=5, categorical_features=[3], random_state=0).fit(x, y)
    with pytest.raises(UserError, match="integer codes"):
        from_sklearn(trees)


def test_a_tree_file_with_node_references_out_of_range_is_refused(tmp_path):
    x, y = _rows_with_gaps()
    ensemble = from_sklearn(HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y))
    ensemble.left[0] = 10**6
    save_trees(ensemble, tmp_path / "bad.npz")
    with pytest.raises(UserError, match="not a valid tree file"):
        load_trees(tmp_path / "bad.npz")


# --- export folders -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hybrid_study(demo_manifest, tmp_path_factory):
    """A study holding one finished trial per hybrid design (and a concat one), on the demo data."""
    manifest = read_manifest(demo_manifest)
    storage = f"sqlite:///{tmp_path_factory.mktemp('hybrid') / 'study.db'}"
    study = optuna.create_study(study_name="hybrid", storage=storage, direction="maximize")
    for key, value in {"space_fixed": FIXED, "data_fingerprint": manifest.fingerprint, "seed": 0}.items():
        study.set_user_attr(key, value)
    choices = optuna.distributions.CategoricalDistribution([*HYBRIDS, "concat"])
    for fusion in [*HYBRIDS, "concat"]:
        study.add_trial(optuna.trial.create_trial(params={"fusion": fusion}, distributions={"fusion": choices},
                                                  value=0.7, user_attrs={"fusion": fusion}))
    return study, demo_manifest, storage


def trial_of(study: optuna.Study, fusion: str) -> optuna.trial.FrozenTrial:
    return next(t for t in study.trials if t.user_attrs["fusion"] == fusion)


@pytest.fixture(scope="module")
def exported(hybrid_study, tmp_path_factory):
    """Each hybrid design exported: fusion -> (folder, in-memory model that was saved)."""
    study, manifest, _ = hybrid_study
    folder = tmp_path_factory.mktemp("folders")
    out = {}
    for fusion in HYBRIDS:
        path = folder / f"{fusion}.fusion"
        model = retrain(study, trial_of(study, fusion), study_rows(study, manifest))
        save_model(model, path, study, trial_of(study, fusion))
        out[fusion] = (path, model)
    return out


def predict(model: Path, data: Path, output: Path) -> tuple[int, np.ndarray]:
    code = main(["predict", "--model", str(model), "--data", str(data), "--output", str(output)])
    scores = np.array([float(r["score"]) for r in csv.DictReader(output.open())]) if output.exists() else None
    return code, scores


@pytest.mark.parametrize("fusion", HYBRIDS)
def test_predict_on_the_folder_gives_the_in_memory_scores(fusion, exported, hybrid_study, tmp_path, capsys):
    folder, model = exported[fusion]
    manifest = read_manifest(hybrid_study[1])
    assert np.isnan(manifest.numeric).any()  # the trees route the demo data's gaps, no imputation
    images = decode_images(manifest.image_paths, 16) if model.image_size else None
    in_memory = model.score({"numeric": manifest.numeric, "image": images})
    code, predicted = predict(folder, hybrid_study[1], tmp_path / "p.csv")
    assert code == 0 and "ROC AUC against column 'label':" in capsys.readouterr().out
    np.testing.assert_allclose(predicted, in_memory, rtol=0, atol=1e-6)  # predictions.csv keeps 6 decimals
    assert len(np.unique(predicted)) > 5  # real scores, not a constant


@pytest.mark.parametrize("fusion, parts", [
    ("gbdt_only", ["design.json", "trees.npz"]),
    ("stacked", ["design.json", "image_model_0.keras", "image_model_1.keras", "trees.npz"]),
    ("gbdt_on_embedding", ["design.json", "extractor.keras", "pca.npz", "trees.npz"]),
])
def test_the_folder_holds_the_designs_parts_and_no_leftovers(fusion, parts, exported):
    folder, _ = exported[fusion]
    assert sorted(p.name for p in folder.iterdir()) == parts
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted(f"{f}.fusion" for f in HYBRIDS)
    meta = json.loads((folder / "design.json").read_text())
    assert meta["fusion"] == fusion and meta["numeric_columns"] == ["measurement", "noise_a", "noise_b"]
    assert meta["image_size"] == (None if fusion == "gbdt_only" else 16)


def test_the_trees_of_the_embedding_design_read_numbers_and_the_pca_components(exported):
    model = load_hybrid(exported["gbdt_on_embedding"][0])
    assert model.trees.n_features == 3 + 3 and model.projection.components.shape[0] == 3


def test_export_command_writes_the_folder_and_its_record(hybrid_study, tmp_path):
    study, manifest, _ = hybrid_study
    trial = trial_of(study, "stacked")
    code = main(["export", "--study", "hybrid", "--storage", hybrid_study[2], "--trial", str(trial.number),
                 "--output", str(tmp_path / "best.json"), "--model", str(tmp_path / "best.fusion"),
                 "--data", str(manifest)])
    assert code == 0
    record = json.loads((tmp_path / "best.json").read_text())
    assert record["fusion"] == "stacked" and record["model"]["path"] == str(tmp_path / "best.fusion")
    assert record["model"]["parts"] == ["design.json", "image_model_0.keras", "image_model_1.keras", "trees.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.fusion", "best.json"]


@pytest.mark.parametrize("fusion, name, message", [
    ("stacked", "best.keras", "give --model a folder ending in .fusion, e.g. best.fusion"),
    ("concat", "best.fusion", "'concat' design (one Keras model): --model must name a .keras file"),
    ("gbdt_only", "best.pkl", "must name a .keras file (neural designs) or a .fusion folder"),
])
def test_a_model_path_of_the_wrong_kind_is_a_one_line_error_before_training(fusion, name, message, hybrid_study,
                                                                          tmp_path, capsys):
    study, manifest, _ = hybrid_study
    code = main(["export", "--study", "hybrid", "--storage", hybrid_study[2],
                 "--trial", str(trial_of(study, fusion).number), "--output", str(tmp_path / "best.json"),
                 "--model", str(tmp_path / name), "--data", str(manifest)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_that_is_no_export_is_not_replaced(hybrid_study, tmp_path):
    study, manifest, _ = hybrid_study
    (tmp_path / "mine.fusion").mkdir()
    (tmp_path / "mine.fusion" / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="exists and is not an export folder"):
        export_model(study, trial_of(study, "gbdt_only").number, manifest, tmp_path / "mine.fusion")
    assert (tmp_path / "mine.fusion" / "notes.txt").read_text() == "keep me"


def test_a_failed_write_leaves_neither_a_folder_nor_a_partial_one(hybrid_study, tmp_path, monkeypatch):
    import fusion_search.serving._export_hybrid as export_module

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "save_trees", broken)
    study, manifest, _ = hybrid_study
    with pytest.raises(OSError):
        export_model(study, trial_of(study, "gbdt_only").number, manifest, tmp_path / "m.fusion")
    assert list(tmp_path.iterdir()) == []


# --- predict on a folder: bad input and untrusted folders --------------------------------------

def assert_one_line_error(capsys, code: int, *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("fusion-search: error:"), err
    for fragment in fragments:
        assert fragment in err, err


def test_missing_numbers_reach_the_trees_as_missing(exported, hybrid_study, tmp_path):
    folder, model = exported["gbdt_only"]
    rows = manifest_rows(hybrid_study[1])[:1]
    gap = write_rows(tmp_path / "gap.csv", [{**rows[0], "measurement": ""}])
    code, scores = predict(folder, gap, tmp_path / "p.csv")
    numbers = np.array([[np.nan, float(rows[0]["noise_a"] or "nan"), float(rows[0]["noise_b"] or "nan")]], np.float32)
    assert code == 0 and scores[0] == pytest.approx(model.score({"numeric": numbers})[0], abs=1e-6)


def test_a_missing_numeric_column_is_named_and_nothing_written(exported, hybrid_study, tmp_path, capsys):
    rows = [{k: v for k, v in r.items() if k != "noise_a"} for r in manifest_rows(hybrid_study[1])]
    code, _ = predict(exported["stacked"][0], write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "lacks numeric column(s) the model needs: noise_a")
    assert not (tmp_path / "p.csv").exists()


def test_a_non_numeric_value_is_named_with_its_row(exported, hybrid_study, tmp_path, capsys):
    rows = manifest_rows(hybrid_study[1])
    rows[4]["noise_b"] = "high"
    code, _ = predict(exported["gbdt_only"][0], write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "noise_b", "'high'", "row 6")


def test_an_unreadable_image_is_named_and_nothing_written(exported, hybrid_study, tmp_path, capsys):
    rows = manifest_rows(hybrid_study[1])
    rows[7]["image"] = str(tmp_path / "gone.png")
    code, _ = predict(exported["gbdt_on_embedding"][0], write_rows(tmp_path / "new.csv", rows), tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "row 9 (gone.png: missing)")
    assert not (tmp_path / "p.csv").exists()


def test_a_folder_whose_arrays_hold_pickled_objects_is_refused_not_unpickled(exported, hybrid_study, tmp_path, capsys):
    import shutil

    folder = tmp_path / "copy.fusion"
    shutil.copytree(exported["gbdt_only"][0], folder)
    arrays = dict(np.load(folder / "trees.npz"))
    np.savez(folder / "trees.npz", **{**arrays, "value": np.array([object()], dtype=object)})
    code, _ = predict(folder, hybrid_study[1], tmp_path / "p.csv")
    assert_one_line_error(capsys, code, f"cannot load model folder {folder}", "allow_pickle=False")


def test_a_folder_that_is_no_export_is_a_one_line_error(hybrid_study, tmp_path, capsys):
    (tmp_path / "empty.fusion").mkdir()
    code, _ = predict(tmp_path / "empty.fusion", hybrid_study[1], tmp_path / "p.csv")
    assert_one_line_error(capsys, code, "is not an export folder of fusion-search (no design.json)")
