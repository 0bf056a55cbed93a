"""`export --ensemble SIDE --model NAME.ensemble` and `predict`: the members retrained on all rows, saved in one
folder, and scored with the same logit blend as in memory."""

from __future__ import annotations

import csv
import json

import numpy as np
import optuna
import pytest

from fusion_search.cli import main
from fusion_search.data import read_table
from fusion_search.serving import export_ensemble, load_exported_model, retrain, score_table, study_rows
from fusion_search.study import Ensemble, blend


@pytest.fixture(scope="module")
def exported(searched_study, tmp_path_factory):
    """image_only (trial 0) twice and numeric_only (trial 1) once, a fusion ensemble of the searched study."""
    storage, name, manifest = searched_study
    study = optuna.load_study(study_name=name, storage=storage)
    folder = tmp_path_factory.mktemp("ensemble") / "best.ensemble"
    summary = export_ensemble(study, Ensemble("fusion", {0: 2, 1: 1}, 0.7), manifest, folder)
    return study, manifest, folder, summary


def test_the_folder_holds_each_member_and_the_weights(exported):
    _, _, folder, summary = exported
    meta = json.loads((folder / "ensemble.json").read_text())
    assert [(m["trial"], m["weight"], m["part"]) for m in meta["members"]] == [
        (0, 2, "member_0.keras"), (1, 1, "member_1.keras")]
    assert sorted(p.name for p in folder.iterdir()) == ["ensemble.json", "member_0.keras", "member_1.keras"]
    assert summary["side"] == "fusion" and not list(folder.parent.glob(".*"))  # no partial folder left


def test_predict_on_the_folder_gives_the_in_memory_blend(exported, tmp_path):
    study, manifest, folder, _ = exported
    rows = study_rows(study, manifest)
    table = read_table(manifest)
    members = [score_table(retrain(study, study.trials[n], rows), table) for n in (0, 1)]
    in_memory = blend(np.array(members), np.array([2, 1]))
    assert np.array_equal(score_table(load_exported_model(folder), table), in_memory)
    assert main(["predict", "--model", str(folder), "--data", str(manifest), "--output", str(tmp_path / "p.csv")]) == 0
    predicted = np.array([float(r["score"]) for r in csv.DictReader((tmp_path / "p.csv").open())])
    np.testing.assert_allclose(predicted, in_memory, atol=1e-6)


def test_a_damaged_ensemble_folder_is_one_line(exported, tmp_path, capsys):
    _, manifest, _, _ = exported
    (tmp_path / "x.ensemble").mkdir()
    (tmp_path / "x.ensemble" / "ensemble.json").write_text('{"format": "fusion-search-ensemble", "version": 1, '
                                                           '"members": [{"trial": 0, "weight": 1, "part": "../../etc"}]}')
    assert main(["predict", "--model", str(tmp_path / "x.ensemble"), "--data", str(manifest), "--output",
                 str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "x.ensemble" in err and not (tmp_path / "p.csv").exists()
