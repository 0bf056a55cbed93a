"""The gradient-boosted trees every tree and stacking design shares."""

from __future__ import annotations

import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from fusion_search.designs import Design

MAX_ITER = 300
EARLY_STOPPING_SHARE = 0.15  # of the training fold, as for the neural designs


def make_trees(design: Design, seed: int) -> HistGradientBoostingClassifier:
    """Trees that stop adding iterations when 15% of the TRAINING fold stops improving (never the scored fold).
    Missing numbers need no imputation: the trees learn where NaN goes."""
    return HistGradientBoostingClassifier(
        learning_rate=design.gbdt_learning_rate, max_leaf_nodes=design.gbdt_max_leaf_nodes,
        min_samples_leaf=design.gbdt_min_samples_leaf, l2_regularization=design.gbdt_l2, max_iter=MAX_ITER,
        early_stopping=True, validation_fraction=EARLY_STOPPING_SHARE, n_iter_no_change=15,
        random_state=seed % (2**32 - 1),
    )


def fit_and_score(design: Design, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, seed: int):
    """(validation scores, iterations used) of trees fit on the training rows."""
    trees = make_trees(design, seed).fit(train_x, train_y)
    return trees.predict_proba(val_x)[:, 1], int(trees.n_iter_)


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        return False
