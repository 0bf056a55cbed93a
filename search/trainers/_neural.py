"""The Keras trainer: fit one neural design on one fold, score the WHOLE validation fold with ROC AUC."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

from fusion_search._errors import UserError
from fusion_search.data import CategoryEncoder, NumericScaler, SearchData, inner_folds
from fusion_search.designs import Design, get_kind
from fusion_search.models import (
    SCORING_BATCH,
    RowBatches,
    TrainingRowStats,
    backend_name,
    build_model,
    configure_precision,
    device_name,
    keras,
    loss_spec,
    make_deterministic,
    make_optimizer,
    model_inputs,
    output_names,
    predict_scores,
    standardises_pixels,
    use_jit,
)
from fusion_search.storage import read_rows
from fusion_search.trainers._features import image_features
from fusion_search.trainers._fold import Diverged, FoldData, FoldResult, early_stopping_slice, fold_auc
from fusion_search.trainers._memory import feature_shape_of, too_large


class NeuralTrainer:
    """Every design that is one Keras model: seeded, numeric preprocessing fit on the training rows,
    early stopping on a slice of them, AdamW with a learning rate per layer group."""

    @staticmethod
    def fold_data(data: SearchData, design: Design) -> FoldData:
        features = image_features(data, design)
        if features is not None:
            return FoldData.of(data.manifest, image_features=features)
        uses_image = get_kind(design.fusion).uses_image
        return FoldData.of(data.manifest, data.images(design.image_size) if uses_image else None)

    @staticmethod
    def train_fold(design: Design, data: FoldData, train_idx: np.ndarray, val_idx: np.ndarray, seed: int,
                   on_epoch: Callable[[int, int], None] | None = None) -> FoldResult:
        return train_fold(design, data, train_idx, val_idx, seed, on_epoch)

    @staticmethod
    def fit(design: Design, data: FoldData, train_idx: np.ndarray, seed: int, on_epoch=None,
            reuse: bool = True) -> "FittedModel":
        """Fit without scoring (an export retrains on every row with it)."""
        return fit_model(design, data, train_idx, seed, on_epoch, reuse)

    @staticmethod
    def too_large(data: SearchData, design: Design) -> str | None:
        return too_large(design, data.manifest.numeric.shape[1], feature_shape_of(data, design),
                         data.manifest.category_sizes, data.manifest.n_classes)


def train_fold(design: Design, data: FoldData, train_idx: np.ndarray, val_idx: np.ndarray, seed: int,
               on_epoch: Callable[[int, int], None] | None = None) -> FoldResult:
    """Fit on train_idx (early stopping on a slice of it), score val_idx as one whole set."""
    started = time.perf_counter()
    fitted = fit_model(design, data, train_idx, seed, on_epoch)
    scores = predict_scores(fitted.model, fold_batches(fitted.model, data, val_idx, fitted.scaler, fitted.categories))
    if not np.all(np.isfinite(scores)):
        raise Diverged("the trained model's scores are NaN or infinite")
    return FoldResult(fold_auc(data.labels[val_idx], scores), scores, fitted.epochs, time.perf_counter() - started,
                      device_name(), backend_name())


@dataclass(frozen=True)
class FittedModel:
    model: keras.Model
    scaler: NumericScaler  # fit on the training rows; the model expects its transform
    epochs: int  # epochs kept (the best epoch when early stopping restored it)
    categories: CategoryEncoder  # learned on the training rows; the model expects its codes


def fit_model(design: Design, data: FoldData, train_idx: np.ndarray, seed: int,
              on_epoch: Callable[[int, int], None] | None = None, reuse: bool = True) -> FittedModel:
    """The one way a design is trained: seeded, numeric preprocessing fit on train_idx only, the model started at
    the training rows' statistics (TrainingRowStats), early stopping (patience > 0) on the ROC AUC of a stratified
    slice of train_idx when the slice can measure one; when the fold is too small for such a slice, the number of
    epochs is chosen by inner cross-validation on train_idx (epochs_by_inner_folds) and the model then trains that
    many epochs on every row. CV folds, export and stacking all call it.
    reuse=False gives a model of its own (one that outlives the next call)."""
    make_deterministic()
    configure_precision()
    fit_idx, stop_idx = _early_stopping_split(design, data, train_idx, seed)
    epochs = design.epochs
    if design.patience > 0 and not len(stop_idx):
        epochs = epochs_by_inner_folds(design, data, train_idx, seed)
    fitted, _ = _fit(design, data, train_idx, fit_idx, stop_idx, seed, epochs, _progress(design, on_epoch), reuse)
    return fitted


def _fit(design: Design, data: FoldData, train_idx: np.ndarray, fit_idx: np.ndarray, stop_idx: np.ndarray,
         seed: int, epochs: int, callbacks: list, reuse: bool = True,
         watched: np.ndarray | None = None) -> tuple[FittedModel, list[float]]:
    """Train a fresh model on fit_idx (preprocessing learned on train_idx) for at most ``epochs`` epochs, early
    stopping on stop_idx when it has rows; with the ROC AUC of the ``watched`` rows after each epoch."""
    keras.utils.set_random_seed(seed)
    scaler = NumericScaler.fit(data.numeric[train_idx])  # training rows only: no validation leakage
    categories = CategoryEncoder.fit(data.categorical[train_idx] if data.categorical is not None else None)
    weights = _row_weights(design, data.labels, fit_idx)
    feature_shape = data.image_features.shape[1:] if data.image_features is not None else None
    model = (fresh_compiled_model if reuse else new_compiled_model)(design, data.numeric.shape[1], feature_shape,
                                                                    categories.sizes,
                                                                    training_row_stats(design, data, fit_idx, weights))
    stopper = SliceAucStopping(fold_batches(model, data, stop_idx, scaler, categories), data.labels[stop_idx],
                               design.patience) if len(stop_idx) else None
    watcher = EpochAucs(fold_batches(model, data, watched, scaler, categories),
                        data.labels[watched]) if watched is not None else None
    history = model.fit(  # each epoch a fresh order of fit_idx, drawn from the seed (RowBatches)
        fold_batches(model, data, fit_idx, scaler, categories, design.batch_size, weights, seed),
        epochs=epochs, shuffle=False, verbose=0,
        callbacks=[c for c in (stopper, watcher) if c] + [keras.callbacks.TerminateOnNaN()] + callbacks,
    )
    if not np.all(np.isfinite(history.history.get("loss", []))):
        raise Diverged(f"the training loss became NaN or infinite in epoch {len(history.history['loss'])}")
    kept = stopper.best_epoch + 1 if stopper else len(history.history.get("loss", []))
    return FittedModel(model, scaler, kept, categories), watcher.aucs if watcher else []


INNER_FOLDS = 3  # folds of a small training fold that choose its number of epochs
INNER_SEED_OFFSET = 7_919_993  # a prime: inner models' seeds differ from every fold's and stacking's seed + k


def epochs_by_inner_folds(design: Design, data: FoldData, train_idx: np.ndarray, seed: int) -> int:
    """The number of epochs (1 to design.epochs) whose mean ROC AUC over INNER_FOLDS folds of the training rows
    is highest, each inner model trained on the other inner folds (whole groups). Where a training fold is too
    small for an early-stopping slice, a slice of a dozen rows picks its epoch by chance, and a fixed budget
    over-trains a small model on noise (the MLP on three numbers of a 200-row study scored AUC 0.38 after 30
    epochs, below the 0.57 of a logistic regression); every training row here is scored once per epoch instead.
    design.epochs when the rows cannot be split so (an inner fold whose sides lack a class, or whose model
    diverged, is left out)."""
    try:
        splits = inner_folds(data.labels, train_idx, INNER_FOLDS, seed, data.groups)
    except ValueError:  # fewer rows (groups) of a class than inner folds
        return design.epochs
    classes = data.n_classes  # whole groups can leave a side without a class: it ranks nothing
    splits = [(fit, held) for fit, held in splits
              if len(np.unique(data.labels[held])) == classes and len(np.unique(data.labels[fit])) == classes]
    if not splits:
        return design.epochs
    curves = []
    for number, (fit, held) in enumerate(splits):
        inner_seed = (seed + INNER_SEED_OFFSET * (number + 1)) % (2**31 - 1)  # apart from the folds' own seeds
        try:
            curves.append(_fit(design, data, fit, fit, fit[:0], inner_seed, design.epochs, [], watched=held)[1])
        except Diverged:
            continue  # this inner model says nothing about when to stop; the final training judges divergence
    return int(np.argmax(np.mean(curves, axis=0))) + 1 if curves else design.epochs


class EpochAucs(keras.callbacks.Callback):
    """The ROC AUC (scikit-learn, all rows at once) of some held rows after each epoch."""

    def __init__(self, batches: RowBatches, labels: np.ndarray):
        super().__init__()
        self.batches, self.labels, self.aucs = batches, labels, []

    def on_epoch_end(self, epoch, logs=None):
        self.aucs.append(fold_auc(self.labels, predict_scores(self.model, self.batches)))


class SliceAucStopping(keras.callbacks.EarlyStopping):
    """Early stopping on the trial's own objective: the ROC AUC (scikit-learn, whole slice) of the early-stopping
    slice after each epoch, the best epoch's weights restored. Not the slice's loss: the loss also falls when a
    model only moves its scores toward the class prior, and on small data the epoch with the lowest loss was one
    whose ranking was inverted (AUC 0.28)."""

    def __init__(self, batches: RowBatches, labels: np.ndarray, patience: int):
        super().__init__(monitor="val_auc", mode="max", patience=patience, restore_best_weights=True)
        self.batches, self.labels = batches, labels

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["val_auc"] = fold_auc(self.labels, predict_scores(self.model, self.batches))
        super().on_epoch_end(epoch, logs)


def training_row_stats(design: Design, data: FoldData, fit_idx: np.ndarray,
                       weights: np.ndarray | None) -> TrainingRowStats:
    """The fit rows' (class-weighted) log-odds, their per-channel pixel mean and spread for a backbone trained
    from scratch on pixels, and each descriptor's mean and spread for a design on the descriptors."""
    labels = data.labels[fit_idx]
    row_weights = weights[fit_idx] if weights is not None else np.ones(len(fit_idx))
    shares = np.bincount(labels.astype(int), weights=row_weights, minlength=data.n_classes) / np.sum(row_weights)
    shares = np.clip(shares, 1e-3, 1 - 1e-3)
    log_odds = float(np.log(shares[1] / (1.0 - shares[1])))
    priors = tuple(float(v) for v in np.log(shares / shares.sum())) if data.n_classes > 2 else None
    pixels = features = (None, None)
    uses_image = get_kind(design.fusion).uses_image
    if data.images is not None and data.image_features is None and standardises_pixels(design.backbone, design.weights) \
            and uses_image:
        pixels = pixel_statistics(data.images, fit_idx)
    if uses_image and data.image_features is not None and data.image_features.ndim == 2:
        features = descriptor_statistics(data.image_features, fit_idx)
    return TrainingRowStats(log_odds, *pixels, class_log_priors=priors, feature_mean=features[0],
                            feature_std=features[1])


MIN_DESCRIPTOR_STD = 1e-3  # a descriptor constant on the training rows (a hue no image has) stays finite elsewhere


def descriptor_statistics(features: np.ndarray, rows: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) of each descriptor over the given rows (the descriptors are about 0..1: MIN_DESCRIPTOR_STD is a
    small spread on that scale)."""
    values = np.asarray(features[np.sort(rows)], dtype=np.float64)
    return tuple(map(float, values.mean(0))), tuple(float(max(s, MIN_DESCRIPTOR_STD)) for s in values.std(0))


PIXEL_STATS_ROWS = 4096  # images read for the pixel statistics: plenty for 3 means and spreads, bounded cost


def pixel_statistics(images: np.ndarray, rows: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per channel over the given rows' pixels (at most PIXEL_STATS_ROWS of them, evenly spaced),
    read a chunk at a time from the (memory-mapped) images."""
    rows = np.sort(rows)
    if len(rows) > PIXEL_STATS_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, PIXEL_STATS_ROWS).astype(int)]
    total, squares, count = np.zeros(3), np.zeros(3), 0
    for start in range(0, len(rows), 256):
        chunk = read_rows(images, rows[start:start + 256]).reshape(-1, 3).astype(np.float64)
        total, squares, count = total + chunk.sum(0), squares + (chunk ** 2).sum(0), count + len(chunk)
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(squares / max(count, 1) - mean ** 2, 0.0))
    return tuple(map(float, mean)), tuple(float(max(s, 1.0)) for s in std)  # >= 1 grey level: a flat channel stays finite


def new_compiled_model(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None,
                       category_sizes: tuple[int, ...] = (), stats: TrainingRowStats = TrainingRowStats()) -> keras.Model:
    model = build_model(design, n_numeric, feature_shape, category_sizes, stats)
    model.compile(optimizer=make_optimizer(design, model), jit_compile=use_jit(), **loss_spec(model, design))
    return model


_REUSED: dict[tuple, tuple[keras.Model, list[np.ndarray]]] = {}


def fresh_compiled_model(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None,
                         category_sizes: tuple[int, ...] = (), stats: TrainingRowStats = TrainingRowStats()) -> keras.Model:
    """A compiled model in the state of a new one built under the current seed and the fold's stats.

    Tracing a new model's train and predict steps costs about a second, more than training the heads
    of a frozen-backbone design takes. So the last compiled model is kept: each fold builds an
    uncompiled model under its own seed only for its initial weights, copies them in, and puts the
    optimizer back to its just-built state. Results equal those of a new model per fold."""
    key = (design, n_numeric, feature_shape, category_sizes, stats.n_classes)  # K classes: K output units
    if key not in _REUSED:
        initial = new_compiled_model(design, n_numeric, feature_shape, category_sizes, stats)
        initial.optimizer.build(initial.trainable_variables)
        _REUSED.clear()  # one at a time: memory stays that of one model
        _REUSED[key] = (initial, [np.array(v) for v in initial.optimizer.variables])
        return initial
    initial = build_model(design, n_numeric, feature_shape, category_sizes, stats)
    model, optimizer_state = _REUSED[key]
    for variable, value in zip(model.variables, initial.variables):  # weights (stats too) and dropout seed states
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, optimizer_state):
        variable.assign(value)
    return model


def class_sample_weights(design: Design, labels: np.ndarray) -> np.ndarray | None:
    """Per-row weights for class_weight=balanced: n / (K * count of the row's class), K classes (2 for two)."""
    if design.class_weight == "none":
        return None
    if design.class_weight != "balanced":
        raise UserError(f"class_weight must be none or balanced, got {design.class_weight!r}")
    return compute_sample_weight("balanced", labels).astype("float32")


def _row_weights(design: Design, labels: np.ndarray, fit_idx: np.ndarray) -> np.ndarray | None:
    """class_sample_weights of the fit rows, placed at their row numbers (RowBatches reads weights by row)."""
    weights = class_sample_weights(design, labels[fit_idx])
    if weights is None:
        return None
    every_row = np.zeros(len(labels), np.float32)
    every_row[fit_idx] = weights
    return every_row


def fold_batches(model: keras.Model, data: FoldData, idx: np.ndarray, scaler: NumericScaler,
                 categories: CategoryEncoder, batch_size: int = SCORING_BATCH, weights: np.ndarray | None = None,
                 seed: int | None = None, labelled: bool | None = None) -> RowBatches:
    """The rows idx as the model's batches, read from the (memory-mapped) arrays batch by batch: with labels
    (and weights) when training (a seed: shuffled each epoch) or labelled, inputs only when scoring."""
    labelled = seed is not None if labelled is None else labelled
    codes = categories.codes(data.categorical) if data.categorical is not None else None
    inputs = model_inputs(model, data.images, scaler.transform(data.numeric), data.image_features, codes)
    return RowBatches(inputs, idx, batch_size, data.labels if labelled else None, weights if labelled else None,
                      output_names(model), seed)


def _early_stopping_split(design: Design, data: FoldData, train_idx: np.ndarray, seed: int):
    """(fit rows, early-stopping slice); no slice (design.epochs on every training row) when patience is 0 or the
    training fold is too small for one (early_stopping_slice)."""
    if design.patience <= 0:
        return train_idx, train_idx[:0]
    return early_stopping_slice(data.labels, train_idx, seed, data.groups)


def _progress(design: Design, on_epoch) -> list[keras.callbacks.Callback]:
    if on_epoch is None:
        return []
    return [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, design.epochs))]
