"""Every design on three classes, on any Keras backend: retrained on every row as `export --model` retrains it,
saved, and scored again by `predict` from the file, which must give the in-memory model's K probabilities.

The TensorFlow tests call ``check_designs`` in-process; the JAX tests run this module once as
``KERAS_BACKEND=jax python -m tests.serving.multiclass_export_checks OUT.json`` (one backend per process).
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import optuna

from fusion_search.cli import main
from fusion_search.data import ManifestSpec, make_multiclass_dataset, read_manifest, read_table
from fusion_search.designs import list_designs
from fusion_search.serving import retrain, save_model, score_table
from fusion_search.serving._provenance import provenance

CLASSES = 3
FIXED = {"backbone": "small_cnn", "weights": "none", "image_size": 16, "trainable_blocks": 3, "epochs": 2,
         "patience": 0, "image_units": 8, "numeric_layers": 1, "numeric_width": 8, "numeric_units": 8,
         "fusion_units": 8, "head_layers": 1, "head_units": 8, "bilinear_rank": 2, "batch_size": 16,
         "gbdt_max_leaf_nodes": 8, "gbdt_min_samples_leaf": 5, "stacked_inner_folds": 2, "embedding_dims": 3}


def one_trial_per_design(storage: str) -> optuna.Study:
    """A study holding one finished trial of every registered design, with the small FIXED design."""
    study = optuna.create_study(study_name="three-classes", storage=storage, direction="maximize")
    study.set_user_attr("space_fixed", FIXED)
    study.set_user_attr("seed", 0)
    choices = optuna.distributions.CategoricalDistribution(list_designs())
    for fusion in list_designs():
        study.add_trial(optuna.trial.create_trial(params={"fusion": fusion}, distributions={"fusion": choices},
                                                  value=0.7, user_attrs={"fusion": fusion, "epochs": [2, 2, 2]}))
    return study


def check_designs(folder: Path) -> dict:
    """Per design: its exit code, the shape of its in-memory scores, the largest difference between them and
    predict's p_<class> columns, how far a row's probabilities sum from 1, whether `predicted` is each row's most
    probable class, and how many distinct scores it gave."""
    data = make_multiclass_dataset(folder / "data", rows=72, classes=CLASSES, image_size=16, seed=0)
    spec = ManifestSpec(label_column="diagnosis")
    manifest, table = read_manifest(data, spec), read_table(data)
    names = [name for name, _ in manifest.classes]
    study = one_trial_per_design(f"sqlite:///{folder / 'study.db'}")
    results = {}
    for trial in study.trials:
        fusion = trial.user_attrs["fusion"]
        model = retrain(study, trial, manifest)
        in_memory = np.asarray(score_table(model, table), dtype=float)
        path = folder / (f"{fusion}.keras" if hasattr(model, "inputs") else f"{fusion}.fusion")
        save_model(model, path, study, trial, provenance(manifest, spec))
        output = folder / f"{fusion}.csv"
        code = main(["predict", "--model", str(path), "--data", str(data), "--output", str(output)])
        rows = list(csv.DictReader(output.open()))
        predicted = np.array([[float(row[f"p_{name}"]) for name in names] for row in rows])
        results[fusion] = {
            "code": code, "shape": list(in_memory.shape),
            "largest_difference": float(np.abs(predicted - in_memory).max()),
            "sum_error": float(np.abs(in_memory.sum(axis=1) - 1).max()),
            "predicted_is_most_probable": [row["predicted"] for row in rows] == [
                names[k] for k in predicted.argmax(axis=1)],
            "distinct_scores": int(len(np.unique(in_memory.round(6)))),
        }
    return results


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        Path(sys.argv[1]).write_text(json.dumps(check_designs(Path(scratch))))
