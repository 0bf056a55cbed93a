"""`export --model`: retrain a trial's design on ALL the data and save one standard .keras file.

The saved model takes raw manifest values: an ``image`` input (uint8, image_size x image_size x 3)
when the design uses images, and a ``numeric`` input of the raw numeric columns (NaN where missing)
when it uses numbers. Median imputation and standardisation, fit on all the data, live inside it as
the registered ``NumericPreprocess`` layer, whose config also remembers the column names; the
image size is the ``image`` input's shape. ``keras.saving.load_model(path, safe_mode=True)`` opens
it once ``search`` is imported (that registers the layer).

Epochs: the median of the trial's per-fold ``epochs`` attr (the epochs early stopping kept in
cross-validation), with early stopping off, as there is nothing left to hold out.

Hybrid designs (trees, stacked, trees on an image embedding) are not one Keras model: for them
``--model`` names a ``.fusion`` export folder, written by search/_export_hybrid.py.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
from pathlib import Path

import keras
import numpy as np
import optuna
from keras import layers, ops

from search._data import Manifest, ManifestSpec, read_manifest
from search._design import Design
from search._errors import UserError
from search._images import decode_images
from search._preprocess import NumericScaler
from search._summary import _chosen_trial, trial_design
from search._train import FoldData, fit_model
from search.fusion import get_fusion


@keras.saving.register_keras_serializable(package="fusion_search")
class NumericPreprocess(layers.Layer):
    """Raw numeric columns -> missing values set to the training median -> standardised."""

    def __init__(self, columns, medians, means, stds, **kwargs):
        super().__init__(**kwargs)
        self.columns = [str(c) for c in columns]
        self.medians, self.means, self.stds = ([float(v) for v in values] for values in (medians, means, stds))

    def call(self, numbers):
        numbers = ops.cast(numbers, "float32")
        medians, means, stds = (ops.convert_to_tensor(v, dtype="float32") for v in (self.medians, self.means, self.stds))
        return (ops.where(ops.isnan(numbers), medians, numbers) - means) / stds

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "medians": self.medians, "means": self.means,
                "stds": self.stds}


def final_epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Median of the epochs the trial's folds kept (folds a pruned trial skipped are left out)."""
    epochs = [e for e in trial.user_attrs.get("epochs") or [] if e is not None]
    if not epochs:
        raise UserError(f"trial {trial.number} has no per-fold epochs recorded; it cannot be retrained")
    return max(1, int(round(statistics.median(epochs))))


def final_design(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Design:
    return dataclasses.replace(trial_design(study, trial), epochs=final_epochs(trial), patience=0)


def train_final_model(design: Design, images: np.ndarray | None, numeric: np.ndarray, labels: np.ndarray,
                      columns: tuple[str, ...], seed: int, name: str = "fusion_search") -> keras.Model:
    """Fit the design on every row (as a CV fold is fit, minus early stopping); return the raw-input model."""
    fitted = fit_model(design, FoldData(images, numeric, labels), np.arange(len(labels)), seed, reuse=False)
    return with_preprocessing(fitted.model, fitted.scaler, columns, name)


def with_preprocessing(model: keras.Model, scaler: NumericScaler, columns: tuple[str, ...], name: str) -> keras.Model:
    """The trained model behind raw inputs: numeric preprocessing inside, auxiliary outputs dropped."""
    inputs, fed = {}, {}
    for tensor in model.inputs:
        inputs[tensor.name] = keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)
        fed[tensor.name] = inputs[tensor.name]
    if "numeric" in inputs:
        fed["numeric"] = NumericPreprocess(columns, scaler.medians, scaler.means, scaler.stds,
                                           name="numeric_preprocess")(inputs["numeric"])
    score = model(fed)
    if isinstance(score, dict):
        score = score["score"]
    return keras.Model(inputs, score, name=name)


def export_model(study: optuna.Study, trial_number: int | None, spec: ManifestSpec, path: Path) -> dict:
    """Retrain the chosen trial on the manifest (checked against the study) and save it; return a summary."""
    path = Path(path)
    _require_model_path(path)
    trial = _chosen_trial(study, trial_number)
    if not _is_neural(trial):  # trees or stacking: an export folder, not one .keras file
        from search._export_hybrid import export_hybrid

        return export_hybrid(study, trial, spec, path)[0]
    _require_keras_design(trial, path)
    design = final_design(study, trial)
    manifest, images = training_rows(study, spec, design)
    model = train_final_model(design, images, manifest.numeric, manifest.labels, manifest.numeric_columns,
                              seed=int(study.user_attrs.get("seed", 0)),
                              name=f"fusion_search_{design.fusion}_trial{trial.number}")
    save_atomically(model, path)
    return {"path": str(path), "trial": trial.number, "epochs": design.epochs, "rows": manifest.rows,
            "inputs": sorted(tensor.name for tensor in model.inputs),
            "numeric_columns": list(manifest.numeric_columns) if get_fusion(design.fusion).uses_numeric else [],
            "image_size": design.image_size if images is not None else None}


def save_atomically(model: keras.Model, path: Path) -> None:
    """Save into a hidden folder beside the target, then rename: a failure never leaves half a model."""
    partial = path.parent / f".{path.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        model.save(partial / path.name)
        (partial / path.name).replace(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _require_model_path(path: Path) -> None:
    if path.suffix not in {".keras", ".fusion"}:
        raise UserError(f"--model must name a .keras file (neural designs) or a .fusion folder "
                        f"(tree and stacked designs), got {path}")
    if not path.parent.is_dir():
        raise UserError(f"output folder does not exist: {path.parent}")


def _is_neural(trial: optuna.trial.FrozenTrial) -> bool:
    return getattr(get_fusion(trial.user_attrs.get("fusion", trial.params.get("fusion"))), "neural", True)


def _require_keras_design(trial: optuna.trial.FrozenTrial, path: Path) -> None:
    if path.suffix != ".keras":
        fusion = trial.user_attrs.get("fusion", trial.params.get("fusion"))
        raise UserError(f"trial {trial.number} is a '{fusion}' design (one Keras model): --model must name "
                        f"a .keras file, got {path}")


def training_rows(study: optuna.Study, spec: ManifestSpec, design: Design) -> tuple[Manifest, np.ndarray | None]:
    """The manifest an export retrains on, checked to be the study's data, and its images if the design uses them."""
    manifest = read_manifest(spec)
    _require_study_data(study, manifest.fingerprint, spec.path)
    images = decode_images(manifest.image_paths, design.image_size) if get_fusion(design.fusion).uses_image else None
    return manifest, images


def _require_study_data(study: optuna.Study, fingerprint: str, manifest_path: Path) -> None:
    expected = study.user_attrs.get("data_fingerprint")
    if expected is None:
        raise UserError(f"study '{study.study_name}' records no data fingerprint; cannot check {manifest_path}")
    if fingerprint != expected:
        raise UserError(
            f"manifest {manifest_path} is not the data study '{study.study_name}' was searched on "
            f"(fingerprint {fingerprint}, study has {expected}); use the same manifest and column flags")
