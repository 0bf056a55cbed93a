"""The Python API: the README's notebook example runs as written; a DataFrame is the same data as its CSV;
export and predict from a result give the CLI's numbers; bad input is a UserError."""

from __future__ import annotations

import csv
import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fusion_search
from fusion_search import UserError
from fusion_search.cli import main
from fusion_search.data import read_manifest
from fusion_search.designs import get_kind
from tests.conftest import TINY_SPACE

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- notebook example: tests/test_api.py runs this block -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert block, "the README's notebook example is missing"
    return block.group(1)


def test_the_readme_notebook_example_runs(tmp_path):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 12
    (tmp_path / "example.py").write_text(code)
    result = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert re.match(r"(Fusion (did not )?(clearly )?help|Cannot tell)", lines[0]), lines[0]
    # the image baseline learns: a logistic regression on these 120 images' pixels scores 0.74 (it was 0.28)
    assert float(lines[1].split()[-1]) >= 0.65, lines[1]
    assert (tmp_path / "best.json").is_file()
    assert len(lines[-1].split()) == 10  # ten scores, one per predicted row


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, demo_manifest):
    """A search through the API on the tiny demo data as a DataFrame with relative image paths."""
    folder = tmp_path_factory.mktemp("api")
    space = folder / "tiny.yaml"
    space.write_text(TINY_SPACE)
    frame = pd.read_csv(demo_manifest)
    result = fusion_search.search(frame, base_dir=demo_manifest.parent, space=space, trials=4, folds=3, seed=0,
                                  study="api", storage=f"sqlite:///{folder / 'api.db'}")
    return result, frame, folder


def test_a_dataframe_is_the_same_data_as_its_manifest(tiny, demo_manifest):
    result, frame, _ = tiny
    assert result.study.user_attrs["data_fingerprint"] == read_manifest(demo_manifest).fingerprint
    assert frame["noise_b"].isna().any()  # the demo's gaps arrive as NaN and are read as missing


def test_the_result_names_the_best_design_the_baselines_and_the_verdict(tiny):
    result, _, _ = tiny
    study = result.study
    assert result.best.trial == study.best_trial.number and result.best.mean_auc == study.best_value
    assert set(result.baselines) == {"image_only", "numeric_only", "gbdt_only"}
    assert all(b is None or len(b.fold_aucs) == 3 for b in result.baselines.values())
    assert result.verdict.headline.startswith(("Fusion", "Cannot tell"))


def test_the_result_the_verdict_and_a_trial_print_short_and_draw_the_leaderboard_in_a_notebook(tiny):
    result, _, _ = tiny
    for shown in (result, result.verdict, result.best):
        assert len(repr(shown)) < 200 and "\n" not in repr(shown)
    assert repr(result).startswith("<SearchResult study 'api' (") and f"trial {result.best.trial}:" in repr(result.best)
    page = result._repr_html_()
    assert "<table>" in page and result.verdict.headline.split(":")[0] in page
    assert page.count("<tr>") == 1 + len(result.leaderboard())
    assert {row["design"] for row in result.leaderboard()} >= {"image_only (baseline)", "numeric_only (baseline)"}
    assert result.best._repr_html_().startswith(f"<p><b>{result.best.fusion}</b>")


def test_help_on_search_documents_every_parameter():
    text = fusion_search.search.__doc__
    missing = [name for name in inspect.signature(fusion_search.search).parameters if f"{name}:" not in text]
    assert missing == []


def test_predict_gives_the_scores_of_the_exported_model(tiny, demo_manifest, tmp_path):
    """Both follow the verdict (result.choice): an ensemble, or one trial saved as its kind is saved."""
    result, frame, _ = tiny
    choice = result.choice
    suffix = ".ensemble" if choice.ensemble else ".keras" if get_kind(
        result.study.trials[choice.trial].user_attrs["fusion"]).neural else ".fusion"
    model = tmp_path / f"best{suffix}"
    summary = result.export(model)
    assert summary["chosen"] == choice.record() and model.exists()
    assert main(["predict", "--model", str(model), "--data", str(demo_manifest), "--output",
                 str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open() as handle:
        exported = np.array([float(row["score"]) for row in csv.DictReader(handle)])
    in_memory = result.predict(demo_manifest)  # retrained again, in this process: same seed, same model
    np.testing.assert_allclose(in_memory, exported, atol=2e-6)
    np.testing.assert_allclose(result.predict(frame, base_dir=demo_manifest.parent), in_memory, atol=0)


def test_export_writes_a_record_as_json_or_yaml(tiny, tmp_path):
    result, _, _ = tiny
    record = result.export(tmp_path / "best.yaml")
    assert record["chosen"] == result.choice.record()
    assert (tmp_path / "best.yaml").read_text().startswith("study: api\n")


@pytest.mark.parametrize("data, message", [
    (42, "data must be a manifest CSV path or a pandas DataFrame, got int"),
    (pd.DataFrame(), "the DataFrame has no rows"),
    ("nowhere.csv", "manifest not found: nowhere.csv"),
])
def test_bad_data_is_a_user_error(data, message):
    with pytest.raises(UserError, match=re.escape(message)):
        fusion_search.search(data, space="quick", trials=1)


def test_a_study_needs_at_least_one_trial(demo_manifest):
    with pytest.raises(UserError, match="trials must be at least 1, got 0"):
        fusion_search.search(demo_manifest, trials=0)


def test_a_class_too_rare_for_the_folds_is_named_with_both_ways_out_before_any_study(demo_manifest, tmp_path):
    frame = pd.read_csv(demo_manifest)
    frame["label"] = np.where(frame["label"] == 1, "a", "b")
    frame.loc[:2, "label"] = "rare"  # 3 rows of a third class, for 5 folds
    storage = f"sqlite:///{tmp_path / 'rare.db'}"
    with pytest.raises(UserError, match=re.escape("class 'rare' has only 3 rows for 5 folds")) as raised:
        fusion_search.search(frame, space="quick", trials=1, storage=storage, base_dir=demo_manifest.parent)
    assert "--merge-classes rare,OTHER" in str(raised.value) and "drop its rows" in str(raised.value)
    assert not (tmp_path / "rare.db").exists()
    with pytest.raises(UserError, match=re.escape("--merge-classes a names 1 class(es)")):
        fusion_search.search(frame, space="quick", trials=1, merge_classes=["a"], base_dir=demo_manifest.parent)
