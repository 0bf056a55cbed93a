"""Fold assignment: stratified (grouped when asked), fixed per study so every trial sees the same folds.
Rows held out of the search (``holdout_mask``) carry fold id -1 and are in no fold, training or validation."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from fusion_search._errors import UserError


def assign_folds(labels: np.ndarray, k: int, seed: int, groups: np.ndarray | None = None,
                 held_out: np.ndarray | None = None, class_names: tuple[str, ...] = ()) -> np.ndarray:
    """Fold id (0..k-1) of every sample, -1 for the held_out ones (a boolean mask). Same inputs, same ids.
    class_names (of labels 0..K-1) name a class that is too rare for k folds."""
    if k < 2:
        raise UserError(f"--folds must be at least 2, got {k}")
    rows = np.flatnonzero(~held_out) if held_out is not None else np.arange(len(labels))
    row_groups = groups[rows] if groups is not None else None
    _require_enough_per_class(labels[rows], k, row_groups, class_names)
    folds = np.full(len(labels), -1, dtype=np.int16)
    splitter = (
        StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    )
    for fold, (_, val_pos) in enumerate(splitter.split(np.zeros(len(rows)), labels[rows], row_groups)):
        folds[rows[val_pos]] = fold
    _require_every_class_per_fold(labels, folds, k)
    return folds


def holdout_mask(labels: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Rows set aside from the whole search: a stratified share (whole groups when grouped). False everywhere
    for fraction 0."""
    mask = np.zeros(len(labels), dtype=bool)
    if fraction <= 0:
        return mask
    if not 0 < fraction < 0.5:
        raise UserError(f"--holdout must be a fraction between 0 and 0.5, got {fraction}")
    if groups is not None:
        held = _whole_groups(labels, fraction, seed, groups)
    else:
        held = train_test_split(np.arange(len(labels)), test_size=fraction, random_state=seed, stratify=labels)[1]
    mask[held] = True
    if len(np.unique(labels[mask])) < len(np.unique(labels)):
        which = "only one class" if len(np.unique(labels)) == 2 else "not every class"
        raise UserError(f"--holdout {fraction} leaves {which} in the held-out rows: use a larger fraction")
    return mask


def _whole_groups(labels: np.ndarray, fraction: float, seed: int, groups: np.ndarray) -> np.ndarray:
    """Rows of whole groups holding out about ``fraction`` of each class: the groups in a seeded random order, each
    taken when it brings the held-out count of every class nearer its share (stratified, and as near the asked
    share as the group sizes allow; folds of round(1/fraction) would hold out 0.5 for 0.4)."""
    names, group_of = np.unique(groups, return_inverse=True)
    per_group = np.zeros((len(names), int(labels.max()) + 1))  # rows of each class in each group
    np.add.at(per_group, (group_of, labels.astype(int)), 1)
    target, held = fraction * per_group.sum(axis=0), np.zeros(per_group.shape[1])
    taken = np.zeros(len(names), dtype=bool)
    for group in np.random.default_rng(seed).permutation(len(names)):
        if np.abs(held + per_group[group] - target).sum() < np.abs(held - target).sum():
            held += per_group[group]
            taken[group] = True
    return np.flatnonzero(taken[group_of])


def inner_folds(labels: np.ndarray, rows: np.ndarray, n: int, seed: int,
                groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """n stratified folds of some rows, as (fit rows, held rows) pairs; whole groups when grouped, so no
    group sits on both sides (the rows of one patient are not independent)."""
    splitter = (StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed % 2**32) if groups is not None
                else StratifiedKFold(n_splits=n, shuffle=True, random_state=seed % 2**32))
    parts = splitter.split(np.zeros(len(rows)), labels[rows], None if groups is None else groups[rows])
    return [(rows[fit], rows[held]) for fit, held in parts]


def stopping_split(labels: np.ndarray, rows: np.ndarray, share: float, seed: int,
                   groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows to fit, rows that decide when to stop): a stratified share of a training fold (whole groups when
    grouped: the first of about 1/share stratified group folds)."""
    if groups is None:
        fit, stop = train_test_split(rows, test_size=share, random_state=seed % 2**32, stratify=labels[rows])
    else:
        n = max(2, min(round(1 / share), len(np.unique(groups[rows]))))
        fit, stop = inner_folds(labels, rows, n, seed, groups)[0]
    return np.sort(fit), np.sort(stop)


def fold_indices(folds: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices) of one fold; held-out rows (fold -1) are in neither."""
    return np.flatnonzero((folds != fold) & (folds >= 0)), np.flatnonzero(folds == fold)


def _require_enough_per_class(labels: np.ndarray, k: int, groups: np.ndarray | None,
                              class_names: tuple[str, ...] = ()) -> None:
    for value in np.unique(labels)[::-1]:  # (binary: the positive class first)
        members = labels == value
        count = len(np.unique(groups[members])) if groups is not None else int(members.sum())
        unit = "groups" if groups is not None else "samples"
        if count < k:
            raise UserError(f"only {count} {_class_name(labels, value, class_names)} {unit} for {k} folds: each fold "
                            f"needs at least one (use fewer --folds{_merge_hint(labels)})")


def _class_name(labels: np.ndarray, value, class_names: tuple[str, ...]) -> str:
    """'positive' / 'negative' for 0/1 labels; "class 'name'" for one of K >= 3 classes."""
    if labels.max() <= 1:
        return "positive" if value == 1 else "negative"
    return f"class {class_names[value]!r}" if value < len(class_names) else f"class {value}"


def _merge_hint(labels: np.ndarray) -> str:
    return ", merge the class with another with --merge-classes a,b, or drop its rows" if labels.max() > 1 else ""


def _require_every_class_per_fold(labels: np.ndarray, folds: np.ndarray, k: int) -> None:
    classes = len(np.unique(labels[folds >= 0]))
    for fold in range(k):
        if len(np.unique(labels[folds == fold])) < classes:
            which = "only one class" if classes == 2 else "not every class"
            raise UserError(f"fold {fold} has {which} with this grouping: use fewer --folds")
