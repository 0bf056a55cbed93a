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
    holdout = held_out is not None and bool(held_out.any())
    _require_enough_per_class(labels[rows], k, row_groups, class_names, holdout)
    folds = np.full(len(labels), -1, dtype=np.int16)
    splitter = (
        StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    )
    for fold, (_, val_pos) in enumerate(splitter.split(np.zeros(len(rows)), labels[rows], row_groups)):
        folds[rows[val_pos]] = fold
    _require_every_class_per_fold(labels, folds, k, class_names, groups is not None, holdout)
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
                              class_names: tuple[str, ...] = (), holdout: bool = False) -> None:
    for value in np.unique(labels)[::-1]:  # (binary: the positive class first)
        members = labels == value
        count = len(np.unique(groups[members])) if groups is not None else int(members.sum())
        if count < k:
            multiclass, grouped = bool(labels.max() > 1), groups is not None
            fewer = (f"use --folds {count}" + (" or fewer" if count > 2 else ""),) if count >= 2 else ()  # (2: least)
            name = class_name(int(value), class_names, multiclass)
            fixes = rare_class_fixes(int(value), class_names, multiclass, grouped, holdout, fewer)
            raise UserError(f"{name} {class_amount(count, grouped)} for {k} folds, and each fold needs one: {fixes}")


def class_name(value: int, class_names: tuple[str, ...], multiclass: bool) -> str:
    """'the positive class' / 'the negative class' of 0/1 labels; "class 'name'" of one of K >= 3 classes."""
    if not multiclass:
        return "the positive class" if value == 1 else "the negative class"
    return f"class {class_names[value]!r}" if value < len(class_names) else f"class {value}"


def rare_class_fixes(value: int, class_names: tuple[str, ...], multiclass: bool, grouped: bool, holdout: bool,
                     first: tuple[str, ...] = ()) -> str:
    """What the user can do about a class too rare to split, as "a, b, or c": the ``first`` fixes (fewer folds,
    where that helps: --folds 2 is the least), merging or dropping the class (K >= 3), a smaller holdout, more
    rows of it."""
    fixes = list(first)
    if multiclass:
        name = class_names[value] if value < len(class_names) else str(value)
        fixes += [f"merge it into another class (--merge-classes {name},OTHER)", "drop its rows"]
    if holdout:
        fixes.append("hold out fewer rows (a smaller --holdout)")
    fixes.append("add rows of it from more groups" if grouped else "add rows of it to the manifest")
    return ", ".join(fixes[:-1]) + f", or {fixes[-1]}" if len(fixes) > 1 else fixes[0]  # (a fix may hold an "or")


def class_amount(count: int, grouped: bool) -> str:
    """'has only 3 rows', 'is in only 1 group': how much of a class there is."""
    plural = "" if count == 1 else "s"
    return f"is in only {count} group{plural}" if grouped else f"has only {count} row{plural}"


def _require_every_class_per_fold(labels: np.ndarray, folds: np.ndarray, k: int, class_names: tuple[str, ...],
                                  grouped: bool, holdout: bool) -> None:
    classes = np.unique(labels[folds >= 0])
    for fold in range(k):
        missing = np.setdiff1d(classes, labels[folds == fold])
        if len(missing):
            value, multiclass = int(missing[-1]), bool(labels.max() > 1)  # (binary: the positive class first)
            fewer = ("use fewer --folds",) if k > 2 else ()
            fixes = rare_class_fixes(value, class_names, multiclass, grouped, holdout, fewer)
            raise UserError(f"fold {fold} has no row of {class_name(value, class_names, multiclass)} with this "
                            f"grouping (a group's rows stay in one fold): {fixes}")
