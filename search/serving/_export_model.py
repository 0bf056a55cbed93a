"""A neural design retrained on ALL the data as one standard .keras file.

The saved model takes raw manifest values: an ``image`` input (uint8, image_size x image_size x 3)
when the design uses images, and a ``numeric`` input of the raw numeric columns (NaN where missing)
when it uses numbers. Median imputation and standardisation, fit on all the data, live inside it as
the registered ``NumericPreprocess`` layer, whose config also remembers the column names; the
image size is the ``image`` input's shape. ``keras.saving.load_model(path, safe_mode=True)`` opens
it once ``fusion_search.models`` is imported (that registers the layer).

Epochs: the median of the trial's per-fold ``epochs`` attr (the epochs early stopping kept in
cross-validation), with early stopping off, as there is nothing left to hold out.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
from pathlib import Path

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search.data import DESCRIPTOR_VERSION, Manifest, chunked_descriptors
from fusion_search.designs import DESCRIPTORS, NEURAL, Design
from fusion_search.models import keras, with_preprocessing
from fusion_search.serving._provenance import add_to_keras_file
from fusion_search.study import trial_design
from fusion_search.trainers import FoldData, get_trainer


def final_epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Median of the epochs the trial's folds kept (folds a pruned trial skipped are left out)."""
    epochs = [e for e in trial.user_attrs.get("epochs") or [] if e is not None]
    if not epochs:
        raise UserError(f"trial {trial.number} has no per-fold epochs recorded; it cannot be retrained")
    return max(1, int(round(statistics.median(epochs))))


def final_design(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Design:
    return dataclasses.replace(trial_design(study, trial), epochs=final_epochs(trial), patience=0)


def train_final_model(design: Design, manifest: Manifest, images: np.ndarray | None, seed: int,
                      name: str = "fusion_search") -> keras.Model:
    """Fit the design on every row (as a CV fold is fit, minus early stopping); return the raw-input model."""
    described = design.backbone == DESCRIPTORS and images is not None
    data = FoldData.of(manifest, None, chunked_descriptors(images)) if described else FoldData.of(manifest, images)
    fitted = get_trainer(NEURAL).fit(design, data, np.arange(manifest.rows), seed, reuse=False)
    return with_preprocessing(fitted.model, fitted.scaler, manifest.numeric_columns, name, fitted.categories,
                              manifest.categorical_columns,
                              (design.decode_size, DESCRIPTOR_VERSION) if described else None)


def save_atomically(model: keras.Model, path: Path, provenance: dict | None = None) -> None:
    """Save into a hidden folder beside the target, then rename: a failure never leaves half a model. The
    provenance (_provenance.py) goes into the archive before the rename."""
    partial = path.parent / f".{path.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        model.save(partial / path.name)
        if provenance is not None:
            add_to_keras_file(partial / path.name, provenance)
        (partial / path.name).replace(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
