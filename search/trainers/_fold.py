"""What every trainer takes and gives: one fold's data in, its whole-fold scores and ROC AUC out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import roc_auc_score

from fusion_search.data import stopping_split
from fusion_search.storage import read_rows


@dataclass(frozen=True)
class FoldData:
    """Everything a fold needs, already decoded: images (uint8) and raw numeric columns.

    ``image_features`` (from the feature cache) replaces images for designs with a frozen backbone."""

    images: np.ndarray | None
    numeric: np.ndarray
    labels: np.ndarray
    image_features: np.ndarray | None = None
    groups: np.ndarray | None = None  # every split inside a training fold keeps a group on one side
    categorical: np.ndarray | None = None  # strings (n, c); their categories are learned on the training rows

    @property
    def n_classes(self) -> int:
        """K of labels 0..K-1 (2 for 0/1 labels)."""
        return max(2, int(self.labels.max()) + 1)

    @classmethod
    def of(cls, manifest, images: np.ndarray | None = None, image_features: np.ndarray | None = None) -> "FoldData":
        """A manifest's rows (numbers, categories, labels, groups) with the images or features a design reads."""
        return cls(images, manifest.numeric, manifest.labels, image_features, manifest.groups, manifest.categorical)

    def shuffled(self, modality: str, order: np.ndarray) -> "FoldData":
        """The same data with one modality's rows put in ``order`` (row i gets row order[i]'s values; "table": the
        numeric and categorical columns, "image": the images or their features), labels and every other input
        untouched: with a permutation, that modality keeps its distribution but no longer goes with the label. The
        table (small) is copied; images and features are read through the order as they are read anyway, batch by
        batch (PermutedRows), so a memory-mapped cache stays on disk."""
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality '{modality}'; known: {', '.join(MODALITIES)}")
        if modality == "table":
            return replace(self, numeric=self.numeric[order],
                           categorical=None if self.categorical is None else self.categorical[order])
        return replace(self, **{name: PermutedRows(getattr(self, name), order)
                                for name in ("images", "image_features") if getattr(self, name) is not None})


class PermutedRows:
    """An array's rows in another order, read lazily: row i is array[order[i]]. Indexing (rows, a slice, an index
    array) reads just those rows (storage.read_rows); np.asarray reads them all. (numpy has no lazy fancy-indexed
    view of a memory map, and dask would be a dependency for this one use.)"""

    def __init__(self, array: np.ndarray, order: np.ndarray):
        if len(order) != len(array):
            raise ValueError(f"an order of {len(order)} rows for an array of {len(array)}")
        self.array, self.order = array, np.asarray(order, dtype=np.int64)

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, rows):
        if isinstance(rows, (int, np.integer)):
            return read_rows(self.array, self.order[[rows]])[0]
        return read_rows(self.array, self.order[rows])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        rows = read_rows(self.array, self.order)
        return rows if dtype is None else rows.astype(dtype, copy=False)


MODALITIES = ("table", "image")  # what a control can shuffle (FoldData.shuffled)


class Diverged(Exception):
    """The training loss became NaN or infinite: the design (or its learning rates) cannot train on this data."""


@dataclass(frozen=True)
class FoldResult:
    auc: float
    scores: np.ndarray  # predicted probabilities for the validation fold, in its index order
    epochs: int  # epochs (trees: boosting iterations) kept
    seconds: float
    device: str = "CPU"  # what it trained on
    backend: str = "scikit-learn"  # which library trained it (a Keras backend name for networks)


EARLY_STOPPING_SHARE = 0.15  # of a training fold, held out to decide when to stop (networks and trees alike)
MIN_STOPPING_CLASS_ROWS = 10  # of the rarer class of a two-class slice, or it cannot choose when to stop (then: no
# slice); K classes need a macro AUC as steady (slice_is_steady)


def early_stopping_slice(labels: np.ndarray, rows: np.ndarray, seed: int,
                         groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, early-stopping slice) of a training fold: EARLY_STOPPING_SHARE of its rows (stratified, whole
    groups), or no slice (every row fits, a fixed budget) when the slice's stopping score would be noisier than
    that of a two-class slice with MIN_STOPPING_CLASS_ROWS rows of its rarer class (slice_is_steady): a score of a
    handful of rows picks the stopping point by chance, and on such small data the rows are worth more to the fit."""
    classes = max(2, int(labels.max()) + 1)
    if groups is None and EARLY_STOPPING_SHARE * len(rows) < classes:  # a stratified slice cannot hold each class
        return rows, rows[:0]
    fit, stop = stopping_split(labels, rows, EARLY_STOPPING_SHARE, seed, groups)
    if not slice_is_steady(np.bincount(labels[stop], minlength=classes)):
        return rows, rows[:0]
    return fit, stop


def slice_is_steady(class_rows: np.ndarray) -> bool:
    """Whether a slice of these rows per class scores as steadily as a two-class slice of the same size with
    MIN_STOPPING_CLASS_ROWS rows of its rarer class: its stopping_score_spread is no larger. For two classes this
    is exactly "each class has MIN_STOPPING_CLASS_ROWS rows"; for K >= 3 the macro AUC averages K one-vs-rest AUCs,
    and 4 classes of 8, 16, 15 and 9 rows (a 48-row slice) pass where the rarest class alone holds fewer than 10."""
    class_rows = np.asarray(class_rows)
    if class_rows.min() == 0:
        return False
    size = int(class_rows.sum())
    reference = [MIN_STOPPING_CLASS_ROWS, max(MIN_STOPPING_CLASS_ROWS, size - MIN_STOPPING_CLASS_ROWS)]
    return stopping_score_spread(class_rows) <= stopping_score_spread(np.array(reference))


def stopping_score_spread(class_rows: np.ndarray) -> float:
    """An upper bound on the standard deviation of a slice's stopping score (its macro one-vs-rest ROC AUC) for a
    model that ranks at chance: the mean over classes of each one-vs-rest AUC's null deviation, the Mann-Whitney
    sqrt((n1 + n0 + 1) / (12 n1 n0)) (the mean of the deviations bounds the deviation of the mean whatever the
    classes' correlation). Two classes have one AUC: its deviation. Written here: scipy computes the test, not
    this variance on its own."""
    class_rows = np.asarray(class_rows, dtype=np.float64)
    rest = class_rows.sum() - class_rows
    return float(np.mean(np.sqrt((class_rows + rest + 1) / (12 * class_rows * rest))))


def fold_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of one whole fold (never an average over batches): of the positive class for 1-D scores; for (n, K)
    scores of K classes, the macro average of the K one-vs-rest AUCs (scikit-learn's multi_class="ovr",
    average="macro", which ignores the class frequencies as the binary AUC ignores the prior)."""
    scores = np.asarray(scores)
    if not np.all(np.isfinite(scores)):
        return 0.5  # a diverged model ranks nothing
    if scores.ndim == 1:
        return float(roc_auc_score(labels, scores))
    return float(np.mean(class_aucs(labels, scores)))


def class_aucs(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The one-vs-rest ROC AUC of each class k (labels 0..K-1): rows of class k against all others, ranked by
    column k. Any monotone score per class works (probabilities, log-probabilities, logits): scikit-learn's own
    multi_class="ovr" accepts only rows that sum to 1, which a blend of log-probabilities need not."""
    labels = np.asarray(labels)
    return np.array([roc_auc_score(labels == k, scores[:, k]) for k in range(scores.shape[1])])


def is_out_of_memory(error: BaseException) -> bool:
    """A backend's out-of-memory error: TensorFlow's ResourceExhaustedError, XLA's RESOURCE_EXHAUSTED
    (JAX), torch's OutOfMemoryError."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"ResourceExhaustedError", "OutOfMemoryError"}) or (
        "RESOURCE_EXHAUSTED" in str(error) or "out of memory" in str(error).lower())
