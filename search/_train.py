"""Train one design on one fold and score the WHOLE validation fold with scikit-learn's ROC AUC."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from search._design import Design
from search._errors import UserError
from search._model import build_model, loss_spec, make_optimizer, training_targets
from search._preprocess import NumericScaler
from search._runtime import configure_precision, make_deterministic, use_jit

EARLY_STOPPING_SHARE = 0.15  # of the training fold, held out to decide when to stop


@dataclass(frozen=True)
class FoldData:
    """Everything a fold needs, already decoded: images (uint8) and raw numeric columns.

    ``image_features`` (from the feature cache) replaces images for designs with a frozen backbone."""

    images: np.ndarray | None
    numeric: np.ndarray
    labels: np.ndarray
    image_features: np.ndarray | None = None


@dataclass(frozen=True)
class FoldResult:
    auc: float
    scores: np.ndarray  # predicted probabilities for the validation fold, in its index order
    epochs: int  # epochs actually trained (the best epoch when early stopping restored it)
    seconds: float


def train_fold(design: Design, data: FoldData, train_idx: np.ndarray, val_idx: np.ndarray, seed: int,
               on_epoch: Callable[[int, int], None] | None = None) -> FoldResult:
    """Fit on train_idx (early stopping on a slice of it), score val_idx as one whole set."""
    started = time.perf_counter()
    fitted = fit_model(design, data, train_idx, seed, on_epoch)
    scores = predict_scores(fitted.model, _inputs(fitted.model, data, val_idx, fitted.scaler))
    return FoldResult(fold_auc(data.labels[val_idx], scores), scores, fitted.epochs, time.perf_counter() - started)


@dataclass(frozen=True)
class FittedModel:
    model: keras.Model
    scaler: NumericScaler  # fit on the training rows; the model expects its transform
    epochs: int  # epochs kept (the best epoch when early stopping restored it)


def fit_model(design: Design, data: FoldData, train_idx: np.ndarray, seed: int,
              on_epoch: Callable[[int, int], None] | None = None, reuse: bool = True) -> FittedModel:
    """The one way a design is trained: seeded, numeric preprocessing fit on train_idx only, early
    stopping (patience > 0) on a stratified slice of train_idx. CV folds, export and stacking all call it.
    reuse=False gives a model of its own (one that outlives the next call)."""
    make_deterministic()
    configure_precision()
    keras.utils.set_random_seed(seed)
    scaler = NumericScaler.fit(data.numeric[train_idx])  # training rows only: no validation leakage
    fit_idx, stop_idx = _early_stopping_split(design, data.labels, train_idx, seed)
    feature_shape = data.image_features.shape[1:] if data.image_features is not None else None
    model = (fresh_compiled_model if reuse else new_compiled_model)(design, data.numeric.shape[1], feature_shape)
    callbacks = _callbacks(design, stop_idx, on_epoch)
    history = model.fit(
        _inputs(model, data, fit_idx, scaler), training_targets(model, data.labels[fit_idx].astype("float32")),
        validation_data=(_inputs(model, data, stop_idx, scaler),
                         training_targets(model, data.labels[stop_idx].astype("float32")))
        if len(stop_idx) else None,
        sample_weight=class_sample_weights(design, data.labels[fit_idx]),
        batch_size=design.batch_size, epochs=design.epochs, shuffle=True, verbose=0, callbacks=callbacks,
    )
    return FittedModel(model, scaler, _epochs_used(history, callbacks))


def new_compiled_model(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None) -> keras.Model:
    model = build_model(design, n_numeric, feature_shape)
    model.compile(optimizer=make_optimizer(design), jit_compile=use_jit(), **loss_spec(model, design))
    return model


_REUSED: dict[tuple, tuple[keras.Model, list[np.ndarray]]] = {}


def fresh_compiled_model(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None) -> keras.Model:
    """A compiled model in the state of a new one built under the current seed.

    Tracing a new model's train and predict steps costs about a second, more than training the heads
    of a frozen-backbone design takes. So the last compiled model is kept: each fold builds an
    uncompiled model under its own seed only for its initial weights, copies them in, and puts the
    optimizer back to its just-built state. Results equal those of a new model per fold."""
    key = (design, n_numeric, feature_shape)
    if key not in _REUSED:
        initial = new_compiled_model(design, n_numeric, feature_shape)
        initial.optimizer.build(initial.trainable_variables)
        _REUSED.clear()  # one at a time: memory stays that of one model
        _REUSED[key] = (initial, [np.array(v) for v in initial.optimizer.variables])
        return initial
    initial = build_model(design, n_numeric, feature_shape)
    model, optimizer_state = _REUSED[key]
    for variable, value in zip(model.variables, initial.variables):  # weights and dropout seed states
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, optimizer_state):
        variable.assign(value)
    return model


def fold_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of one whole fold (never an average over batches)."""
    if not np.all(np.isfinite(scores)):
        return 0.5  # a diverged model ranks nothing
    return float(roc_auc_score(labels, scores))


def predict_scores(model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    scores = model.predict(inputs, batch_size=batch_size, verbose=0)
    if isinstance(scores, dict):  # auxiliary branch outputs were only there for training
        scores = scores["score"]
    return np.asarray(scores, dtype=np.float64).reshape(-1)


def class_sample_weights(design: Design, labels: np.ndarray) -> np.ndarray | None:
    """Per-row weights for class_weight=balanced: n / (2 * count of the row's class), as scikit-learn's."""
    if design.class_weight == "none":
        return None
    if design.class_weight != "balanced":
        raise UserError(f"class_weight must be none or balanced, got {design.class_weight!r}")
    counts = np.bincount(labels.astype(int), minlength=2).astype("float64")
    return (len(labels) / (2.0 * counts[labels.astype(int)])).astype("float32")


def model_inputs(model: keras.Model, images: np.ndarray | None, numeric: np.ndarray,
                 image_features: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The input dict for the inputs this model actually has."""
    given = {"image": images, "numeric": numeric, "image_features": image_features}
    return {tensor.name: given[tensor.name] for tensor in model.inputs}


def _inputs(model: keras.Model, data: FoldData, idx: np.ndarray, scaler: NumericScaler) -> dict[str, np.ndarray]:
    images = data.images[idx] if data.images is not None else None
    features = data.image_features[idx] if data.image_features is not None else None
    return model_inputs(model, images, scaler.transform(data.numeric[idx]), features)


def _early_stopping_split(design: Design, labels: np.ndarray, train_idx: np.ndarray, seed: int):
    if design.patience <= 0:
        return train_idx, np.array([], dtype=train_idx.dtype)
    fit_idx, stop_idx = train_test_split(train_idx, test_size=EARLY_STOPPING_SHARE, random_state=seed,
                                         stratify=labels[train_idx])
    return np.sort(fit_idx), np.sort(stop_idx)


def _callbacks(design: Design, stop_idx: np.ndarray, on_epoch) -> list[keras.callbacks.Callback]:
    callbacks: list[keras.callbacks.Callback] = []
    if len(stop_idx):
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=design.patience,
                                                       restore_best_weights=True))
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, design.epochs)))
    return callbacks


def _epochs_used(history, callbacks) -> int:
    stopper = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    losses = history.history.get("val_loss")
    if stopper is not None and losses:
        return int(np.nanargmin(losses)) + 1
    return len(history.history.get("loss", []))
