"""Every benchmark the README names still runs on today's code (at a tiny size, results in a temporary folder): an
API change can no longer break `make bench` silently. The numbers of these runs mean nothing."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH_MODULES = sorted(f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py") if path.stem != "__main__")


def _run(tmp_path: Path, *args: str, out: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "FUSION_BENCH_RESULTS": str(tmp_path / "results"),
           "FUSION_SEARCH_CACHE": str(tmp_path / "cache"), "KERAS_HOME": str(tmp_path / "keras"), "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT)}
    if out is not None:
        env["OUT"] = str(out)
    run = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.mark.parametrize("module", BENCH_MODULES)
def test_every_bench_module_imports(module):
    importlib.import_module(module)


def test_make_bench_runs_every_part_and_writes_its_summary(tmp_path):
    _run(tmp_path, "bench", "--tiny")
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    for key in ("search_speedup_vs_naive", "feature_cache_speedup", "pruning_saved_fraction",
                "pruning_saved_fraction_fusion_trials", "memory_estimate_ratio_min"):
        assert summary[key] > 0, key
    assert summary["search_best_auc"] == summary["naive_best_auc"]  # same designs, same folds, same seeds
    assert "| whole search wall time (s) |" in (tmp_path / "results" / "results.md").read_text()


def test_the_input_pipeline_benchmark_runs(tmp_path):
    _run(tmp_path, "bench.input_pipeline", "--tiny")
    result = json.loads((tmp_path / "results" / "input_pipeline.json").read_text())
    assert {(c["kind"], c["version"]) for c in result["cases"]} == {
        (kind, version) for kind in ("training", "extraction") for version in ("before", "after")}
    assert all(c["steps"] > 0 and 0 < c["ratio"] <= 1.05 for c in result["cases"])


def test_the_gpu_check_dry_run_measures_the_trial_path(tmp_path):
    _run(tmp_path, "bench.gpu_check", "--dry-run", out=tmp_path / "gpu")
    result = json.loads((tmp_path / "gpu" / "gpu.json").read_text())
    for part in ("train_fold_fine_tuned", "feature_extraction", "train_fold_frozen_cached_features",
                 "keras_fit_in_memory"):
        assert result[part]["images_per_second"] > 0, result[part]
    assert result["train_fold_frozen_cached_features"]["reads_features"]
    assert not result["train_fold_fine_tuned"]["reads_features"]


def test_the_tree_first_try_study_runs_and_scores_every_candidate(tmp_path):
    _run(tmp_path, "bench.small_data_trees", "--tiny")
    result = json.loads((tmp_path / "results" / "small_data_trees.json").read_text())
    names = {name for study in result["studies"] for name in study["auc"]}
    assert len(names) == 5 and all(0 <= auc <= 1 for study in result["studies"] for auc in study["auc"].values())
    assert set(result["interaction"]["400"]) == names


def test_the_multiclass_benchmark_scores_each_baseline_and_times_both_labels(tmp_path):
    _run(tmp_path, "bench.multiclass", "--tiny")
    result = json.loads((tmp_path / "results" / "multiclass.json").read_text())
    assert {row["baseline"] for row in result["baselines"]} == {"image_only", "image_only on descriptors",
                                                                 "numeric_only", "gbdt_only"}
    assert all(0 <= row["after"] <= 1 and 0 <= row["anchor_auc"] <= 1 for row in result["baselines"])
    assert {row["baseline"] for row in result["baselines"] if row["before"] is not None} == {
        "image_only on descriptors"}  # the one baseline whose inputs the change standardised
    assert all(row["ratio"] > 0 for row in result["timing"].values())


def test_the_four_class_verdict_bench_plants_four_classes_that_only_fusion_tells_apart(tmp_path):
    import csv
    from collections import Counter

    from bench.verdict_multiclass import CLASSES, planted

    for kind in ("null", "interaction"):
        rows = list(csv.DictReader(planted(tmp_path / kind, kind, seed=0).open()))
        counts = Counter(row["label"] for row in rows)
        assert set(counts) == set(CLASSES) and min(counts.values()) >= 40, counts


def test_the_first_tries_bench_scores_and_ranks_its_candidates(tmp_path):
    _run(tmp_path, "bench.first_tries", "--sizes", "150", "--seeds", "1", "--generators", "hue",
         "--candidates", "image_only_desc,gbdt_on_embedding")
    result = json.loads((tmp_path / "results" / "first_tries.json").read_text())
    assert sorted(result["ranking"]) == ["gbdt_on_embedding", "image_only_desc"]
    assert all(0 <= run["mean_auc"] <= 1 for run in result["runs"]) and len(result["runs"]) == 2


def test_the_power_bench_plants_a_table_that_helps_and_a_null_one_that_does_not(tmp_path):
    """The demo generator's ceilings are the ones the README quotes (both inputs 0.848, the image alone 0.742, by an
    independent simulation); in the null data the measured column says nothing of the label, in the real data it
    does."""
    import csv

    from bench.power import CI, DETECTABLE, GAIN, ceilings, planted

    demo = ceilings("demo")
    assert abs(demo["both"] - 0.848) < 0.01 and abs(demo["image"] - 0.742) < 0.01
    hue = ceilings("hue")
    assert hue["both"] - hue["image"] >= 0.08
    for kind, low, high in (("null", 0.40, 0.60), ("real", 0.60, 1.0)):
        rows = list(csv.DictReader(planted(tmp_path / kind, "hue", kind, 400, seed=0).open()))
        labels = [int(r["label"]) for r in rows]
        measured = [float(r["measurement"]) for r in rows]
        from sklearn.metrics import roc_auc_score

        assert low < roc_auc_score(labels, measured) < high, kind
    headline = ("Fusion did not clearly help on this data: on 1x10 fresh folds, the best fusion design (add, 0.776) is "
                "+0.011 over the best single modality (image_only, 0.765), within fold-to-fold noise (better in 6 of "
                "10 folds; corrected repeated k-fold t-test, one-sided p = 0.38; 95% CI -0.050 to +0.072). With fold "
                "differences this spread, a true gain of +0.091 AUC or more would likely (80% power) have been seen")
    assert GAIN.search(headline).group(1) == "+0.011"
    assert CI.search(headline).groups() == ("-0.050", "+0.072") and DETECTABLE.search(headline).group(1) == "+0.091"
