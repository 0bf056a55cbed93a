"""A label that depends on a string column: the search uses it (the network's numeric branch and the trees alike),
categories unseen in training score without error, and exports carry the categories so that predictions from the
saved files equal the in-memory models'."""

from __future__ import annotations

import csv

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fusion_search.cli import main
from fusion_search.data import ManifestSpec, read_manifest, read_table
from fusion_search.designs import Design
from fusion_search.serving import (
    load_exported_model, retrain, save_model, score_table, study_rows, unseen_categories,
)
from fusion_search.serving._export_hybrid import train_hybrid
from fusion_search.study import best_per_fusion
from tests.conftest import TINY_SPACE, write_manifest

SITES = ["north", "south", "east", "west", "", "island"]  # a blank site is a category too; island: once only
RISKY = {"north", "east", ""}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """150 rows; P(label = 1) is 0.85 at the risky sites and 0.15 elsewhere; images and the number are noise."""
    rng = np.random.default_rng(5)
    rows, images = [], []
    for i in range(150):
        site = "island" if i == 77 else SITES[i % 5]
        rows.append({"image": f"i/{i}.png", "label": int(rng.random() < (0.85 if site in RISKY else 0.15)),
                     "site": site, "noise": f"{rng.normal():.3f}"})
        images.append(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    return write_manifest(tmp_path_factory.mktemp("sites"), rows, images)


def search(manifest, storage: str, study: str, *extra: str):
    space = manifest.parent / "tiny.yaml"
    space.write_text(TINY_SPACE.replace("epochs: 3", "epochs: 12"))
    assert main(["run", "--data", str(manifest), "--study", study, "--space", str(space), "--trials", "3",
                 "--folds", "3", "--quiet", "--confirm-repeats", "0", "--storage", storage, *extra]) == 0
    return best_per_fusion(optuna.load_study(study_name=study, storage=storage))


@pytest.fixture(scope="module")
def searched(sites, tmp_path_factory):
    storage = f"sqlite:///{tmp_path_factory.mktemp('db') / 's.db'}"
    return storage, search(sites, storage, "with"), search(sites, storage, "without", "--ignore-columns", "site")


@pytest.mark.parametrize("design", ["numeric_only", "gbdt_only"])  # the network's numeric branch, and the trees
def test_the_string_column_lifts_the_auc_by_at_least_0_1(searched, design):
    _, with_site, without = searched
    assert with_site[design].value >= without[design].value + 0.1, (with_site[design].value, without[design].value)
    assert with_site[design].value > 0.7


def test_the_study_records_the_categorical_column(searched):
    storage, _, _ = searched
    assert optuna.load_study(study_name="with", storage=storage).user_attrs["categorical_columns"] == ["site"]


@pytest.mark.parametrize("design, suffix", [("numeric_only", ".keras"), ("gbdt_only", ".fusion")])
def test_an_export_predicts_what_the_in_memory_model_does_unseen_categories_included(searched, sites, tmp_path,
                                                                                    design, suffix, capsys):
    storage, with_site, _ = searched
    study = optuna.load_study(study_name="with", storage=storage)
    trial = with_site[design]
    model = retrain(study, trial, study_rows(study, sites))
    rows = list(csv.DictReader(sites.open()))
    rows[0]["site"], rows[1]["site"] = "atlantis", "  "  # a site never seen; blank written with spaces
    for row in rows:
        row["image"] = str(sites.parent / row["image"])
    new = write_manifest(tmp_path, rows, name="new.csv")
    in_memory = score_table(model, read_table(new))
    save_model(model, tmp_path / f"m{suffix}", study, trial)
    assert np.array_equal(score_table(load_exported_model(tmp_path / f"m{suffix}"), read_table(new)), in_memory)
    assert main(["predict", "--model", str(tmp_path / f"m{suffix}"), "--data", str(new), "--output",
                 str(tmp_path / "p.csv")]) == 0
    assert ("rows with a category the training rows never had (scored as unknown): site 1 of 150"
            in capsys.readouterr().out)  # atlantis; the blank written with spaces is the blank category
    predicted = np.array([float(r["score"]) for r in csv.DictReader((tmp_path / "p.csv").open())])
    np.testing.assert_allclose(predicted, in_memory, atol=1e-6)
    risky = np.array([r["site"].strip() in RISKY for r in rows])
    assert roc_auc_score(risky, predicted) > 0.9  # the category drives the ranking


def test_a_code_column_scores_the_same_from_a_csv_and_from_dataframes_of_any_dtype(tmp_path):
    """A clinic code with one blank: pandas holds it as float (1.0), Int64 or string; training read the CSV."""
    rng = np.random.default_rng(0)
    clinic = [None if i == 3 else i % 4 + 1 for i in range(80)]
    frame = pd.DataFrame({"image": [f"i/{i}.png" for i in range(80)], "x": rng.normal(size=80),
                          "label": [int(rng.random() < (0.8 if c in (1, 2) else 0.2)) for c in clinic],
                          "clinic": clinic})
    frame.to_csv(tmp_path / "m.csv", index=False)
    model = train_hybrid(Design(fusion="gbdt_only"), read_manifest(tmp_path / "m.csv",
                                                                   ManifestSpec(categorical_columns=("clinic",))),
                         None, seed=0)
    assert model.category_codes == ({"": 1, "1": 2, "2": 3, "3": 4, "4": 5},)
    expected = score_table(model, read_table(tmp_path / "m.csv"))
    for dtype in ("object", "float", "Int64", "string"):
        typed = read_table(frame.assign(clinic=frame["clinic"].astype(dtype)))
        assert np.array_equal(score_table(model, typed), expected), dtype
        assert unseen_categories(model, typed) == {"clinic": 0}
    assert unseen_categories(model, read_table(frame.assign(clinic=[7.0] * 3 + clinic[3:]))) == {"clinic": 3}


def test_categories_learned_from_a_dataframe_of_floats_and_codes_are_known_when_scoring_its_csv(tmp_path):
    """A float32 dose, and codes that are equal as numbers or spell a missing value: predict on the CSV pandas writes
    of the training DataFrame, or on that DataFrame for a model trained on the CSV, meets no unknown category."""
    rng = np.random.default_rng(1)
    zips = ["007", "7", "0070", "NA", "None", "n/a"]
    frame = pd.DataFrame({"image": [f"i/{i}.png" for i in range(96)], "x": rng.normal(size=96),
                          "dose": pd.array([[0.1, 0.2, 0.7, None][i % 4] for i in range(96)], dtype="float32"),
                          "zip": [zips[i % 6] for i in range(96)]})
    frame["label"] = [int(rng.random() < (0.8 if z in ("007", "NA") else 0.2)) for z in frame["zip"]]
    frame.to_csv(tmp_path / "m.csv", index=False)
    spec = ManifestSpec(categorical_columns=("dose", "zip"))
    for train, score in ((frame, tmp_path / "m.csv"), (tmp_path / "m.csv", frame)):
        model = train_hybrid(Design(fusion="gbdt_only"), read_manifest(train, spec), None, seed=0)
        assert model.category_codes == ({"": 1, "0.1": 2, "0.2": 3, "0.7": 4},
                                        {"007": 1, "0070": 2, "7": 3, "NA": 4, "None": 5, "n/a": 6})
        assert unseen_categories(model, read_table(score)) == {"dose": 0, "zip": 0}
        assert np.array_equal(score_table(model, read_table(score)), score_table(model, read_table(train)))
