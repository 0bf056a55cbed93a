"""Designs on the classical descriptors (backbone: descriptors): networks read them as their image branch's input,
the trees of gbdt_on_embedding and the image models of stacked too; exports compute them from the images again."""

from __future__ import annotations

import csv

import numpy as np
import optuna
import pytest

from fusion_search.cli import main
from fusion_search.data import read_table
from fusion_search.serving import load_exported_model, model_contract, retrain, save_model, score_table, study_rows

SPACE = """
fixed: {backbone: descriptors, image_size: 16, descriptor_size: 24, epochs: 4, patience: 0, numeric_layers: 1, numeric_width: 8,
        head_layers: 1, head_units: 8, batch_size: 16, image_units: 8, numeric_units: 8, fusion_units: 8,
        stacked_inner_folds: 2, gbdt_min_samples_leaf: 5}
search:
  fusion: {choices: [concat, gbdt_on_embedding, stacked]}
"""


@pytest.fixture(scope="module")
def study(demo_manifest, tmp_path_factory):
    """The three baselines, then one trial of each fusion design, all on the descriptors."""
    folder = tmp_path_factory.mktemp("descriptors")
    (folder / "space.yaml").write_text(SPACE)
    storage = f"sqlite:///{folder / 's.db'}"

    def run(trials: int) -> None:
        assert main(["run", "--data", str(demo_manifest), "--study", "d", "--space", str(folder / "space.yaml"),
                     "--trials", str(trials), "--folds", "3", "--quiet", "--prune-p", "0", "--confirm-repeats", "0",
                     "--storage", storage]) == 0

    run(3)
    created = optuna.load_study(study_name="d", storage=storage)
    for fusion in ("concat", "gbdt_on_embedding", "stacked"):
        created.enqueue_trial({"fusion": fusion})
    run(6)
    return optuna.load_study(study_name="d", storage=storage)


def test_every_design_on_descriptors_completes(study):
    done = {t.user_attrs["fusion"]: t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert {"image_only", "concat", "gbdt_on_embedding", "stacked"} <= set(done)
    assert all(0.0 <= t.value <= 1.0 for t in done.values())


@pytest.mark.parametrize("fusion, suffix", [("image_only", ".keras"), ("concat", ".keras"),
                                            ("gbdt_on_embedding", ".fusion"), ("stacked", ".fusion")])
def test_an_export_on_descriptors_predicts_what_the_in_memory_model_does(study, demo_manifest, tmp_path, fusion,
                                                                        suffix):
    trial = next(t for t in study.trials if t.user_attrs.get("fusion") == fusion and t.value is not None)
    model = retrain(study, trial, study_rows(study, demo_manifest))
    table = read_table(demo_manifest)
    in_memory = score_table(model, table)
    save_model(model, tmp_path / f"m{suffix}", study, trial)
    exported = load_exported_model(tmp_path / f"m{suffix}")
    assert model_contract(exported).image_size == 24  # described at descriptor_size, not the networks' image_size
    assert np.array_equal(score_table(exported, table), in_memory)
    assert main(["predict", "--model", str(tmp_path / f"m{suffix}"), "--data", str(demo_manifest), "--output",
                 str(tmp_path / "p.csv")]) == 0
    predicted = np.array([float(r["score"]) for r in csv.DictReader((tmp_path / "p.csv").open())])
    np.testing.assert_allclose(predicted, in_memory, atol=1e-6)
    assert len(np.unique(predicted)) > 5
