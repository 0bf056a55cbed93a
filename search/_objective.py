"""The trial objective: one design, trained on every fold, scored by mean whole-fold ROC AUC."""

from __future__ import annotations

import statistics
import time

import numpy as np
import optuna
from sklearn.metrics import roc_auc_score

from search._dataset import SearchData
from search._design import Design
from search._folds import fold_indices
from search._oof import save_oof_scores
from search._progress import SilentProgress
from search._runtime import backend_name, device_name
from search._summary import record_against_baselines
from search._train import FoldData, FoldResult, train_fold
from search.fusion import get_fusion
from spaces import Space, suggest_design


class CrossValidatedObjective:
    """Callable for study.optimize. Knows folds and AUC; knows nothing about layers."""

    def __init__(self, data: SearchData, space: Space, seed: int, progress: SilentProgress | None = None):
        self.data, self.space, self.seed = data, space, seed
        self.progress = progress or SilentProgress()

    def __call__(self, trial: optuna.Trial) -> float:
        design = suggest_design(trial, self.space)
        self.progress.trial_started(trial.number, design.fusion)
        results = [self._fold(trial, design, fold) for fold in range(self.data.k)]
        value = statistics.fmean(r.auc for r in results)
        for key, attr in trial_attrs(self.data, design, results).items():
            trial.set_user_attr(key, attr)
        save_oof_scores(trial, oof_scores(self.data, results))
        record_against_baselines(trial, design.fusion, value)
        self.progress.trial_ended(trial.number, design.fusion, value)
        return value

    def _fold(self, trial: optuna.Trial, design: Design, fold: int) -> FoldResult:
        self.progress.fold_started(fold, self.data.k)
        train_idx, val_idx = fold_indices(self.data.folds, fold)
        return train_fold(design, fold_data(self.data, design), train_idx, val_idx,
                          seed=fold_seed(self.seed, trial.number, fold), on_epoch=self.progress.epoch_ended)


def fold_data(data: SearchData, design: Design) -> FoldData:
    images = data.images(design.image_size) if get_fusion(design.fusion).uses_image else None
    return FoldData(images, data.manifest.numeric, data.manifest.labels)


def fold_seed(seed: int, trial_number: int, fold: int) -> int:
    """Training seed of one fold of one trial: reproducible, different across trials and folds."""
    return (seed * 1_000_003 + trial_number * 101 + fold) % (2**31 - 1)


def trial_attrs(data: SearchData, design: Design, results: list[FoldResult]) -> dict:
    """What a person needs to read a trial: per-fold AUCs, spread, pooled out-of-fold AUC, cost, device."""
    aucs = [round(r.auc, 6) for r in results]
    return {
        "fusion": design.fusion,
        "fold_aucs": aucs,
        "std_auc": round(statistics.pstdev(aucs), 6),
        "oof_auc": round(pooled_oof_auc(data, results), 6),
        "epochs": [r.epochs for r in results],
        "train_seconds": round(sum(r.seconds for r in results), 2),
        "device": device_name(),
        "backend": backend_name(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def oof_scores(data: SearchData, results: list[FoldResult]) -> np.ndarray:
    """Every row's score from the fold that held it out, in manifest row order."""
    scores = np.empty(len(data.folds))
    for fold, result in enumerate(results):
        scores[fold_indices(data.folds, fold)[1]] = result.scores
    return scores


def pooled_oof_auc(data: SearchData, results: list[FoldResult]) -> float:
    """One AUC over all out-of-fold scores together (folds' score scales may differ, so it can be lower)."""
    scores = oof_scores(data, results)
    if not np.all(np.isfinite(scores)):
        return 0.5
    return float(roc_auc_score(data.manifest.labels, scores))
