"""The gradient-boosted trees every tree and stacking design shares."""

from __future__ import annotations

import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from fusion_search.data import CategoryEncoder
from fusion_search.designs import Design
from fusion_search.trainers._fold import FoldData, early_stopping_slice

MAX_ITER = 300
FIXED_ITER = 100  # iterations without an early-stopping slice: scikit-learn's own default max_iter


def make_trees(design: Design, seed: int, categorical: np.ndarray | None = None,
               early_stopping: bool = True) -> HistGradientBoostingClassifier:
    """Trees that stop adding iterations when a slice of the TRAINING rows stops improving (never the scored
    fold), or FIXED_ITER iterations without a slice. Missing numbers need no imputation: the trees learn where NaN
    goes. ``categorical``: a boolean mask of the columns that hold category codes (split natively by category sets,
    not by thresholds)."""
    return HistGradientBoostingClassifier(
        learning_rate=design.gbdt_learning_rate, max_leaf_nodes=design.gbdt_max_leaf_nodes,
        min_samples_leaf=design.gbdt_min_samples_leaf, l2_regularization=design.gbdt_l2,
        max_iter=MAX_ITER if early_stopping else FIXED_ITER, early_stopping=early_stopping, n_iter_no_change=15,
        random_state=seed % (2**32 - 1),
        categorical_features=categorical if categorical is not None and categorical.any() else None,
    )


def fit_trees(design: Design, x: np.ndarray, labels: np.ndarray, rows: np.ndarray, seed: int,
              groups: np.ndarray | None = None, categorical: np.ndarray | None = None) -> HistGradientBoostingClassifier:
    """Trees fit on rows of x, stopping when an early-stopping slice of those rows (whole groups when grouped)
    stops improving; FIXED_ITER iterations on every row where the rows are too few for a slice."""
    fit, stop = early_stopping_slice(labels, rows, seed, groups)
    if not len(stop):
        return make_trees(design, seed, categorical, early_stopping=False).fit(x[rows], labels[rows])
    return make_trees(design, seed, categorical).fit(x[fit], labels[fit], X_val=x[stop], y_val=labels[stop])


def table_features(data: FoldData, train_idx: np.ndarray,
                   *extra: np.ndarray) -> tuple[np.ndarray, np.ndarray, CategoryEncoder]:
    """(x, categorical mask, the category encoder) for every row: the numeric columns, the categorical columns as
    codes learned on the training rows (unknown: missing), then any extra columns (an image score, an embedding)."""
    rows = len(data.labels)
    categories = CategoryEncoder.fit(data.categorical[train_idx] if data.categorical is not None else None)
    codes = categories.tree_codes(data.categorical) if data.categorical is not None else np.zeros((rows, 0))
    extra = [np.asarray(block, dtype=np.float64).reshape(rows, -1) for block in extra]
    widths = [data.numeric.shape[1], codes.shape[1], sum(block.shape[1] for block in extra)]
    return np.column_stack([data.numeric, codes, *extra]), np.repeat([False, True, False], widths), categories


def fit_and_score(design: Design, data: FoldData, train_idx: np.ndarray, val_idx: np.ndarray, seed: int,
                  *extra: np.ndarray) -> tuple[np.ndarray, int]:
    """(validation scores, iterations used) of trees fit on the training rows of the table (and extra columns):
    the positive class's probability for two classes, (rows, K) class probabilities for K >= 3 (scikit-learn's
    multiclass boosting: one tree per class and iteration)."""
    x, categorical, _ = table_features(data, train_idx, *extra)
    trees = fit_trees(design, x, data.labels, train_idx, seed, data.groups, categorical)
    return class_probabilities(trees, x[val_idx], data.n_classes), int(trees.n_iter_)


def class_probabilities(trees: HistGradientBoostingClassifier, x: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba's column of class 1 when n_classes is 2; else (rows, n_classes) columns in class order (a class
    the fit rows lacked scores 0)."""
    probabilities = trees.predict_proba(x)
    if n_classes == 2:
        return probabilities[:, list(trees.classes_).index(1)]
    out = np.zeros((len(x), n_classes))
    out[:, trees.classes_.astype(int)] = probabilities
    return out


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        return False
