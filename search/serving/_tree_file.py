"""Fitted gradient-boosted trees as plain numeric arrays: saved with ``np.savez``, read back with
``np.load(allow_pickle=False)``, scored by a small numpy walk — no pickle, so a tree file from an
untrusted place cannot run code when it is opened.

A scikit-learn ``HistGradientBoostingClassifier`` predicts ``sigmoid(baseline + sum of one leaf value per tree)``
for two classes; for K classes it grows one tree per class and iteration, and predicts the softmax of K such
sums (each from its own baseline and its class's trees). Each tree is a node table. At a numeric split a row goes
left when its feature is NaN and the node sends missing values left, else when its feature is
``<= num_threshold``. At a categorical split (the feature holds category codes 0..254) a row goes left when its
code is in the node's left set (a 256-bit bitset), right when it is another category seen in training (the
feature's known set), and where missing values go when it is NaN, negative or a category never seen. ``TreeEnsemble`` keeps exactly those columns and bitsets,
concatenated, and adds leaf values in scikit-learn's order, so its probabilities equal ``predict_proba``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit, softmax  # the inverse links of scikit-learn's binomial and multinomial losses

from fusion_search._errors import UserError

FORMAT_VERSION = 3  # 3: K classes (2: categorical splits; 1: numeric splits only; both are read as well)
NUMERIC_ONLY = {"is_categorical": np.zeros(0, bool), "bitset": np.zeros(0, np.int64),
                "left_categories": np.zeros((0, 8), np.uint32), "known_categories": np.zeros((0, 8), np.uint32),
                "known_index": np.zeros(0, np.int64)}


@dataclass(frozen=True)
class TreeEnsemble:
    """Every tree's nodes, concatenated; ``tree_start[t]`` is the first node (the root) of tree t.
    ``left``/``right`` are indices into the concatenated arrays."""

    baseline: np.ndarray  # float64 (1,) for two classes, (K,) for K classes
    n_features: int
    tree_start: np.ndarray  # int64 (n_trees,)
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    missing_left: np.ndarray  # bool
    left: np.ndarray  # int64
    right: np.ndarray  # int64
    is_leaf: np.ndarray  # bool
    value: np.ndarray  # float64
    is_categorical: np.ndarray  # bool per node (empty: no categorical split anywhere)
    bitset: np.ndarray  # int64 per node: its row of left_categories
    left_categories: np.ndarray  # uint32 (n_bitsets, 8): the categories sent left, one row per categorical node
    known_categories: np.ndarray  # uint32 (n_categorical_features, 8): the categories seen in training
    known_index: np.ndarray  # int64 per feature: its row of known_categories
    tree_class: np.ndarray | None = None  # int64 (n_trees,): the class each tree adds to (None: class 0)

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Raw scores of every row of x (n, n_features; NaN allowed): log-odds (n,) for two classes, (n, K) for
        K classes."""
        x = np.asarray(x, dtype=np.float64)  # scikit-learn scores in float64 too
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise UserError(f"the trees read {self.n_features} features, got an array of shape {x.shape}")
        rows = np.arange(len(x))
        raw = np.zeros((len(x), len(self.baseline))) + self.baseline
        classes = self.tree_class if self.tree_class is not None else np.zeros(len(self.tree_start), np.int64)
        for root, k in zip(self.tree_start, classes):
            node = np.full(len(x), root, dtype=np.int64)
            inner = ~self.is_leaf[node]
            while inner.any():
                at = node[inner]
                values = x[rows[inner], self.feature[at]]
                go_left = np.where(np.isnan(values), self.missing_left[at], values <= self.threshold[at])
                if len(self.is_categorical) and (split := self.is_categorical[at]).any():
                    go_left[split] = self._categorical_left(at[split], values[split])
                node[inner] = np.where(go_left, self.left[at], self.right[at])
                inner = ~self.is_leaf[node]
            raw[:, k] += self.value[node]
        return raw[:, 0] if len(self.baseline) == 1 else raw

    def _categorical_left(self, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        """scikit-learn's categorical rule (_predictor.pyx): left if the code is in the node's left set; right if
        it is another known category; else (NaN, negative, never seen) where missing values go."""
        missing = np.isnan(values) | (values < 0)
        code = np.where(missing, 0, values).astype(np.int64) & 255  # scikit-learn reads the code as uint8
        left = _in_bitset(self.left_categories[self.bitset[at]], code)
        known = _in_bitset(self.known_categories[self.known_index[self.feature[at]]], code)
        return np.where(missing | ~(left | known), self.missing_left[at], left)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of the positive class for every row (scikit-learn's ``predict_proba(x)[:, 1]``); for K
        classes, (n, K) probabilities (its whole ``predict_proba(x)``)."""
        raw = self.raw(x)
        return expit(raw) if raw.ndim == 1 else softmax(raw, axis=1)


def _in_bitset(bitsets: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Whether each code is set in its row's 256-bit bitset (8 x uint32, scikit-learn's layout)."""
    words = bitsets[np.arange(len(code)), code // 32]
    return ((words >> (code % 32).astype(np.uint32)) & 1).astype(bool)


def from_sklearn(trees) -> TreeEnsemble:
    """The arrays of a fitted HistGradientBoostingClassifier (numeric and categorical features; two classes or K),
    in the caller's column order and category codes (scikit-learn reorders and re-codes categorical columns
    internally; that is folded into the arrays here)."""
    per_iteration = int(getattr(trees, "n_trees_per_iteration_", 1))
    if per_iteration != (1 if len(trees.classes_) == 2 else len(trees.classes_)):
        raise UserError("these trees do not score one class of two, or each of K classes: not saved as tree arrays")
    predictors = [predictor for iteration in trees._predictors for predictor in iteration]  # class order within
    tables = [predictor.nodes for predictor in predictors]
    sizes = [len(table) for table in tables]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    nodes, shift = np.concatenate(tables), np.repeat(starts, sizes)  # child indices become global
    columns, categories = _internal_columns(trees)
    return TreeEnsemble(
        baseline=np.asarray(trees._baseline_prediction, dtype=np.float64).reshape(-1),
        n_features=int(trees.n_features_in_), tree_class=np.tile(np.arange(per_iteration), len(trees._predictors)),
        tree_start=starts, feature=columns[nodes["feature_idx"]],
        threshold=nodes["num_threshold"].astype(np.float64), missing_left=nodes["missing_go_to_left"].astype(bool),
        left=nodes["left"].astype(np.int64) + shift, right=nodes["right"].astype(np.int64) + shift,
        is_leaf=nodes["is_leaf"].astype(bool), value=nodes["value"].astype(np.float64),
        **_categorical_arrays(predictors, nodes, sizes, columns, categories, int(trees.n_features_in_)),
    )


def _internal_columns(trees) -> tuple[np.ndarray, list[np.ndarray]]:
    """(the caller's column of each internal column, the raw values of each internal categorical column).
    With categorical features scikit-learn puts them first, coded 0..V-1 by an OrdinalEncoder of their values."""
    preprocessor = getattr(trees, "_preprocessor", None)
    if preprocessor is None:
        return np.arange(trees.n_features_in_, dtype=np.int64), []
    mask = np.asarray(trees.is_categorical_, dtype=bool)
    columns = np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)]).astype(np.int64)
    return columns, list(preprocessor.named_transformers_["encoder"].categories_)


def _categorical_arrays(predictors, nodes, sizes, columns, categories, n_features) -> dict[str, np.ndarray]:
    """The categorical splits' bitsets over the caller's codes (integers 0..255), each node's bitset row shifted
    into the concatenated table; the known categories of each categorical column."""
    if not np.any(nodes["is_categorical"]):
        return NUMERIC_ONLY
    categories = [np.asarray(values, dtype=np.float64) for values in categories]
    for values in categories:  # (a NaN among them is the missing value, coded NaN, never a category code)
        known = values[np.isfinite(values)]
        if np.any((known != np.round(known)) | (known < 0) | (known > 255)):
            raise UserError("categorical tree features must be integer codes 0..255 to be saved as tree arrays")
    counts = [len(p.raw_left_cat_bitsets) for p in predictors]
    offsets = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), sizes)
    internal = np.concatenate([p.raw_left_cat_bitsets for p in predictors]).astype(np.uint32)
    node_column = np.asarray(nodes["feature_idx"], dtype=np.int64)  # internal: categorical j is column j
    bitset = np.where(nodes["is_categorical"], nodes["bitset_idx"].astype(np.int64) + offsets, 0)
    left = np.zeros_like(internal)
    for node in np.flatnonzero(nodes["is_categorical"]):
        left[bitset[node]] = _recode(internal[bitset[node]], categories[node_column[node]])
    known = np.array([_recode(np.full(8, 2**32 - 1, np.uint32), values) for values in categories], np.uint32)
    known_index = np.zeros(n_features, np.int64)
    known_index[columns[: len(categories)]] = np.arange(len(categories))
    return {"is_categorical": nodes["is_categorical"].astype(bool), "bitset": bitset, "left_categories": left,
            "known_categories": known, "known_index": known_index}


def _recode(internal: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A bitset over internal codes 0..V-1 as a bitset over the raw values those codes stand for."""
    raw = np.zeros(8, np.uint32)
    for code, value in enumerate(values):
        if not np.isfinite(value):
            continue
        value = int(value)
        if (internal[code // 32] >> np.uint32(code % 32)) & 1:
            raw[value // 32] |= np.uint32(1) << np.uint32(value % 32)
    return raw


CATEGORICAL_FIELDS = ("is_categorical", "bitset", "left_categories", "known_categories", "known_index")


def save_trees(ensemble: TreeEnsemble, path: Path) -> None:
    arrays = {name: getattr(ensemble, name) for name in
              ("tree_start", "feature", "threshold", "missing_left", "left", "right", "is_leaf", "value",
               *CATEGORICAL_FIELDS)}
    tree_class = ensemble.tree_class if ensemble.tree_class is not None else np.zeros(len(ensemble.tree_start))
    np.savez(path, format_version=np.int64(FORMAT_VERSION), baseline=np.asarray(ensemble.baseline, np.float64),
             n_features=np.int64(ensemble.n_features), tree_class=tree_class.astype(np.int64), **arrays)


def load_trees(path: Path) -> TreeEnsemble:
    """Read a tree file (no pickle) and check its node references stay inside its arrays."""
    with np.load(path, allow_pickle=False) as saved:
        if int(saved["format_version"]) not in (1, 2, FORMAT_VERSION):
            raise UserError(f"{path}: tree file format {int(saved['format_version'])}, "
                            f"this version reads 1 to {FORMAT_VERSION}")
        categorical = {name: saved[name] if name in saved else NUMERIC_ONLY[name] for name in CATEGORICAL_FIELDS}
        ensemble = TreeEnsemble(
            baseline=np.asarray(saved["baseline"], dtype=np.float64).reshape(-1), n_features=int(saved["n_features"]),
            tree_class=saved["tree_class"].astype(np.int64) if "tree_class" in saved else None,
            tree_start=saved["tree_start"].astype(np.int64), feature=saved["feature"].astype(np.int64),
            threshold=saved["threshold"].astype(np.float64), missing_left=saved["missing_left"].astype(bool),
            left=saved["left"].astype(np.int64), right=saved["right"].astype(np.int64),
            is_leaf=saved["is_leaf"].astype(bool), value=saved["value"].astype(np.float64),
            is_categorical=categorical["is_categorical"].astype(bool), bitset=categorical["bitset"].astype(np.int64),
            left_categories=categorical["left_categories"].astype(np.uint32),
            known_categories=categorical["known_categories"].astype(np.uint32),
            known_index=categorical["known_index"].astype(np.int64))
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
          and np.all(ensemble.right[inner] > np.flatnonzero(inner)) and np.all(ensemble.right[inner] < n)
          and _categories_in_range(ensemble, n, inner) and _classes_in_range(ensemble))
    if not ok:
        raise UserError(f"{path} is not a valid tree file (node references out of range)")


def _categories_in_range(ensemble: TreeEnsemble, n: int, inner: np.ndarray) -> bool:
    """Every categorical node's bitset row, and its feature's known-categories row, exist."""
    if not len(ensemble.is_categorical):
        return True
    split = ensemble.is_categorical & inner if len(ensemble.is_categorical) == n else None
    if split is None or len(ensemble.bitset) != n or ensemble.left_categories.shape[1:] != (8,) \
            or ensemble.known_categories.shape[1:] != (8,) or len(ensemble.known_index) != ensemble.n_features:
        return False
    rows = ensemble.known_index[ensemble.feature[split]]
    return bool(np.all((ensemble.bitset[split] >= 0) & (ensemble.bitset[split] < len(ensemble.left_categories)))
                and np.all((rows >= 0) & (rows < len(ensemble.known_categories))))


def _classes_in_range(ensemble: TreeEnsemble) -> bool:
    """One class per tree, each one of the baseline's."""
    if ensemble.tree_class is None:
        return len(ensemble.baseline) == 1
    return bool(len(ensemble.tree_class) == len(ensemble.tree_start) and len(ensemble.baseline) >= 1
                and np.all((ensemble.tree_class >= 0) & (ensemble.tree_class < len(ensemble.baseline))))
