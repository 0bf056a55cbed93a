"""Fold assignment: stratified (grouped when asked), fixed per study so every trial sees the same folds."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from fusion_search._errors import UserError


def assign_folds(labels: np.ndarray, k: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Fold id (0..k-1) of every sample. Same inputs, same ids."""
    if k < 2:
        raise UserError(f"--folds must be at least 2, got {k}")
    _require_enough_per_class(labels, k, groups)
    folds = np.full(len(labels), -1, dtype=np.int16)
    splitter = (
        StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    )
    for fold, (_, val_idx) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        folds[val_idx] = fold
    _require_both_classes_per_fold(labels, folds, k)
    return folds


def fold_indices(folds: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices) of one fold."""
    return np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)


def _require_enough_per_class(labels: np.ndarray, k: int, groups: np.ndarray | None) -> None:
    for value, name in ((1, "positive"), (0, "negative")):
        members = labels == value
        count = len(np.unique(groups[members])) if groups is not None else int(members.sum())
        unit = "groups" if groups is not None else "samples"
        if count < k:
            raise UserError(f"only {count} {name} {unit} for {k} folds: each fold needs at least one (use fewer --folds)")


def _require_both_classes_per_fold(labels: np.ndarray, folds: np.ndarray, k: int) -> None:
    for fold in range(k):
        if len(np.unique(labels[folds == fold])) < 2:
            raise UserError(f"fold {fold} has only one class with this grouping: use fewer --folds")
