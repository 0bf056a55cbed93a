"""The three measurements of the fast-trials work, each run side by side in one process."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import keras
import optuna

from bench._naive import NaiveSearchData
from fusion_search.data import fold_indices, make_demo_dataset, prepare_data
from fusion_search.designs import baseline_fusions
from fusion_search.models import build_backbone
from fusion_search.spaces import load_space, suggest_design
from fusion_search.study import RunSettings, completed, pruned, run_search
from fusion_search.trainers import fold_data, train_fold

BENCH_SPACE = """
description: frozen VGG16 (local 'pretrained' weights file) on the demo data, heads searched
fixed:
  backbone: vgg16
  weights: {weights}
  image_size: {image_size}
  trainable_blocks: 0
  epochs: {epochs}
  patience: 0
  numeric_layers: 1
  numeric_width: 32
  head_layers: 1
search:
  fusion:
    choices: [image_only, numeric_only, concat, multiply, gated, late]
  image_units: {{low: 8, high: 64, log: true}}
  image_activation: {{choices: [relu, tanh, linear]}}
  numeric_units: {{low: 8, high: 64, log: true}}
  numeric_activation: {{choices: [relu, tanh, linear]}}
  fusion_units: {{low: 8, high: 64, log: true}}
  multiply_image_activation: {{choices: [sigmoid, relu, linear]}}
  multiply_numeric_activation: {{choices: [sigmoid, relu, linear]}}
  head_units: {{low: 8, high: 64, log: true}}
  batch_size: {{choices: [32, 64]}}
  lr_image: {{low: 1.0e-3, high: 3.0e-2, log: true}}
  lr_numeric: {{low: 1.0e-3, high: 3.0e-2, log: true}}
  lr_fusion: {{low: 1.0e-3, high: 3.0e-2, log: true}}
"""


class Workdir:
    """Demo data, a 'pretrained' VGG16 weights file (random init saved once: imagenet cannot be
    downloaded here, and the timings do not depend on the weight values) and the bench space."""

    def __init__(self, rows: int = 400, image_size: int = 32, epochs: int = 5):
        self.root = Path(tempfile.mkdtemp(prefix="fusion-bench-"))
        self.manifest = make_demo_dataset(self.root / "data", rows=rows, seed=0)
        keras.utils.set_random_seed(0)
        _, backbone = build_backbone("vgg16", image_size, "none", 0)
        self.weights = self.root / "vgg16.weights.h5"
        backbone.save_weights(self.weights)
        self.space_path = self.root / "bench_space.yaml"
        self.space_path.write_text(BENCH_SPACE.format(weights=self.weights, image_size=image_size, epochs=epochs))
        self.space = load_space(str(self.space_path))

    def storage(self, name: str) -> str:
        return f"sqlite:///{self.root / name}.db"


def search_vs_naive(work: Workdir, trials: int) -> dict:
    """(1) The same search (trial budget, seed) naive and with caches + pruning: wall time and best AUC. (The search
    alone: the confirmation on fresh folds that run_search adds afterwards is switched off in every bench search.)"""
    runs = {}
    for mode in ("naive", "service"):
        started = time.perf_counter()
        data = prepare_data(work.manifest, k=5, fold_seed=0, caches=mode == "service")
        if mode == "naive":
            data = NaiveSearchData(data.manifest, data.folds, data.fold_seed, caches=False)
        settings = RunSettings(study=mode, storage=work.storage(f"search_{mode}"), trials=trials, seed=0,
                               prune_p=RunSettings.prune_p if mode == "service" else 0.0, confirm_repeats=0)
        study = run_search(settings, data, work.space)
        runs[mode] = {"seconds": time.perf_counter() - started, "best_auc": _best(study),
                      "fold_trainings": _fold_trainings(study)}
    return {
        "trials": trials,
        "naive": runs["naive"], "service": runs["service"],
        "speedup": runs["naive"]["seconds"] / runs["service"]["seconds"],
    }


def feature_cache(work: Workdir, image_size: int, repeats: int = 3) -> dict:
    """(2) One frozen-backbone trial (5 folds) with and without the feature cache: time and fold AUCs.
    (VGG16 without its top is all convolutions: the same weights file serves any image size.)"""
    trial = optuna.trial.FixedTrial({"fusion": "concat", "image_units": 32, "image_activation": "relu",
                                     "numeric_units": 32, "numeric_activation": "relu", "head_units": 32,
                                     "batch_size": 32, "lr_image": 3e-3, "lr_numeric": 3e-3, "lr_fusion": 3e-3})
    design = replace(suggest_design(trial, work.space), image_size=image_size)
    result = {"image_size": image_size}
    for cached in (True, False):
        data = prepare_data(work.manifest, k=5, fold_seed=0, caches=cached)
        data.images(design.image_size)
        if cached:
            started = time.perf_counter()
            fold_data(data, design)  # extracts the features into the cache: the one-off cost of the first frozen trial
            result["cache_build_seconds"] = time.perf_counter() - started
        times, aucs = [], []
        for _ in range(repeats if cached else 1):
            started = time.perf_counter()
            aucs = [train_fold(design, fold_data(data, design), *fold_indices(data.folds, f), seed=f).auc
                    for f in range(5)]
            times.append(time.perf_counter() - started)
        result["with_cache" if cached else "without_cache"] = {"trial_seconds": statistics.median(times),
                                                               "fold_aucs": [round(a, 4) for a in aucs]}
    result["speedup"] = result["without_cache"]["trial_seconds"] / result["with_cache"]["trial_seconds"]
    result["same_aucs_3dp"] = ([round(a, 3) for a in result["with_cache"]["fold_aucs"]]
                               == [round(a, 3) for a in result["without_cache"]["fold_aucs"]])
    return result


def pruning(work: Workdir, trials: int, thresholds: tuple[float, ...] = (0.3, 0.2)) -> dict:
    """(3) The service's search with and without fold pruning: fold trainings saved, best AUC of each."""
    runs = {}
    for prune_p in (*thresholds, 0.0):
        data = prepare_data(work.manifest, k=5, fold_seed=0)
        settings = RunSettings(study=f"prune_{prune_p}", storage=work.storage(f"prune_{prune_p}"), trials=trials,
                               seed=0, prune_p=prune_p, confirm_repeats=0)
        study = run_search(settings, data, work.space)
        runs[prune_p] = {"best_auc": _best(study), "fold_trainings": _fold_trainings(study),
                         "pruned_trials": len(pruned(study)), **_by_side(study)}
    full = 5 * trials
    for prune_p in thresholds:
        run = runs[prune_p]
        run["saved_fraction"] = 1 - run["fold_trainings"] / full
        run["saved_fraction_fusion_trials"] = 1 - run["fusion_fold_trainings"] / (5 * max(1, run["fusion_trials"]))
    return {
        "trials": trials, "default_p": thresholds[0], "with_pruning": runs[thresholds[0]],
        "by_threshold": {str(p): runs[p] for p in thresholds}, "without_pruning": runs[0.0],
        "saved_fraction": runs[thresholds[0]]["saved_fraction"],
        "saved_fraction_fusion_trials": runs[thresholds[0]]["saved_fraction_fusion_trials"],
    }


def _by_side(study: optuna.Study) -> dict:
    """Trials and fold trainings of the single-modality designs (never pruned: the objective exempts every baseline
    kind, enqueued or drawn by TPE) and of the fusion designs (the only ones pruning can stop)."""
    finished = trained(study)
    single = [t for t in finished if t.user_attrs.get("fusion", t.params.get("fusion")) in baseline_fusions()]
    fusion = [t for t in finished if t not in single]
    enqueued = [t for t in single if str(t.user_attrs.get("role", "")).startswith("baseline")]
    return {"baseline_trials": len(single), "baseline_fold_trainings": _folds(single),
            "baseline_enqueued_trials": len(enqueued), "fusion_trials": len(fusion),
            "fusion_fold_trainings": _folds(fusion), "fusion_pruned": sum(bool(t.user_attrs.get("pruned"))
                                                                          for t in fusion)}


def _best(study: optuna.Study) -> float:
    return max(t.value for t in completed(study))


def trained(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that trained folds: complete, and fold-pruned ones (PRUNED since 2026-12, COMPLETE before), each with
    user attr folds_done; not those skipped for memory or diverged."""
    return [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                                  optuna.trial.TrialState.PRUNED))
            if "folds_done" in t.user_attrs]


def _fold_trainings(study: optuna.Study) -> int:
    return _folds(trained(study))


def _folds(trials) -> int:
    return sum(t.user_attrs.get("folds_done", 5) for t in trials)


__all__ = ["Workdir", "feature_cache", "pruning", "search_vs_naive"]
