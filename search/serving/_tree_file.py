"""Fitted gradient-boosted trees as plain numeric arrays: saved with ``np.savez``, read back with
``np.load(allow_pickle=False)``, scored by a small numpy walk — no pickle, so a tree file from an
untrusted place cannot run code when it is opened.

A scikit-learn ``HistGradientBoostingClassifier`` (binary, numeric features only) predicts
``sigmoid(baseline + sum of one leaf value per tree)``; each tree is a node table in which a row goes
left when its feature is NaN and the node sends missing values left, else when its feature is
``<= num_threshold``. ``TreeEnsemble`` keeps exactly those columns of every tree, concatenated, and
adds leaf values in scikit-learn's order, so its probabilities equal ``predict_proba``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit  # the inverse link scikit-learn's binomial loss uses

from fusion_search._errors import UserError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class TreeEnsemble:
    """Every tree's nodes, concatenated; ``tree_start[t]`` is the first node (the root) of tree t.
    ``left``/``right`` are indices into the concatenated arrays."""

    baseline: float
    n_features: int
    tree_start: np.ndarray  # int64 (n_trees,)
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    missing_left: np.ndarray  # bool
    left: np.ndarray  # int64
    right: np.ndarray  # int64
    is_leaf: np.ndarray  # bool
    value: np.ndarray  # float64

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds) of every row of x (n, n_features); NaN allowed."""
        x = np.asarray(x, dtype=np.float64)  # scikit-learn scores in float64 too
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise UserError(f"the trees read {self.n_features} features, got an array of shape {x.shape}")
        rows = np.arange(len(x))
        raw = np.zeros(len(x)) + self.baseline
        for root in self.tree_start:
            node = np.full(len(x), root, dtype=np.int64)
            inner = ~self.is_leaf[node]
            while inner.any():
                at = node[inner]
                values = x[rows[inner], self.feature[at]]
                go_left = np.where(np.isnan(values), self.missing_left[at], values <= self.threshold[at])
                node[inner] = np.where(go_left, self.left[at], self.right[at])
                inner = ~self.is_leaf[node]
            raw += self.value[node]
        return raw

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of the positive class for every row (scikit-learn's ``predict_proba(x)[:, 1]``)."""
        return expit(self.raw(x))


def from_sklearn(trees) -> TreeEnsemble:
    """The arrays of a fitted binary HistGradientBoostingClassifier on numeric features."""
    if getattr(trees, "n_trees_per_iteration_", 1) != 1 or len(trees.classes_) != 2:
        raise UserError("only binary tree classifiers can be saved as tree arrays")
    categorical = getattr(trees, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        raise UserError("trees with categorical features cannot be saved as tree arrays (only numeric splits are)")
    tables = [predictor.nodes for (predictor,) in trees._predictors]  # one tree per iteration (binary)
    if any(np.any(table["is_categorical"]) for table in tables):
        raise UserError("trees with categorical splits cannot be saved as tree arrays (only numeric splits are)")
    sizes = [len(table) for table in tables]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    nodes, shift = np.concatenate(tables), np.repeat(starts, sizes)  # child indices become global
    return TreeEnsemble(
        baseline=float(np.asarray(trees._baseline_prediction).reshape(-1)[0]), n_features=int(trees.n_features_in_),
        tree_start=starts, feature=nodes["feature_idx"].astype(np.int64),
        threshold=nodes["num_threshold"].astype(np.float64), missing_left=nodes["missing_go_to_left"].astype(bool),
        left=nodes["left"].astype(np.int64) + shift, right=nodes["right"].astype(np.int64) + shift,
        is_leaf=nodes["is_leaf"].astype(bool), value=nodes["value"].astype(np.float64),
    )


def save_trees(ensemble: TreeEnsemble, path: Path) -> None:
    arrays = {name: getattr(ensemble, name) for name in
              ("tree_start", "feature", "threshold", "missing_left", "left", "right", "is_leaf", "value")}
    np.savez(path, format_version=np.int64(FORMAT_VERSION), baseline=np.float64(ensemble.baseline),
             n_features=np.int64(ensemble.n_features), **arrays)


def load_trees(path: Path) -> TreeEnsemble:
    """Read a tree file (no pickle) and check its node references stay inside its arrays."""
    with np.load(path, allow_pickle=False) as saved:
        if int(saved["format_version"]) != FORMAT_VERSION:
            raise UserError(f"{path}: tree file format {int(saved['format_version'])}, "
                            f"this version reads {FORMAT_VERSION}")
        ensemble = TreeEnsemble(
            baseline=float(saved["baseline"]), n_features=int(saved["n_features"]),
            tree_start=saved["tree_start"].astype(np.int64), feature=saved["feature"].astype(np.int64),
            threshold=saved["threshold"].astype(np.float64), missing_left=saved["missing_left"].astype(bool),
            left=saved["left"].astype(np.int64), right=saved["right"].astype(np.int64),
            is_leaf=saved["is_leaf"].astype(bool), value=saved["value"].astype(np.float64))
    _check_structure(ensemble, path)
    return ensemble


def _check_structure(ensemble: TreeEnsemble, path: Path) -> None:
    """A damaged file is an error here, not an index error (or an endless walk) while scoring."""
    n = len(ensemble.value)
    same_length = all(len(getattr(ensemble, f)) == n for f in ("feature", "threshold", "missing_left", "left",
                                                                  "right", "is_leaf"))
    inner = ~ensemble.is_leaf if same_length else np.zeros(0, bool)
    ok = (same_length and np.all((ensemble.tree_start >= 0) & (ensemble.tree_start < max(n, 1)))
          and np.all((ensemble.feature[inner] >= 0) & (ensemble.feature[inner] < ensemble.n_features))
          # children come after their parent in every tree scikit-learn grows, so every walk ends
          and np.all(ensemble.left[inner] > np.flatnonzero(inner)) and np.all(ensemble.left[inner] < n)
          and np.all(ensemble.right[inner] > np.flatnonzero(inner)) and np.all(ensemble.right[inner] < n))
    if not ok:
        raise UserError(f"{path} is not a valid tree file (node references out of range)")
