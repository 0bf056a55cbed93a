"""`export --model`: retrain a trial's design on ALL the data, checked to be the study's, and save it:
a .keras file for a neural design (_export_model.py), a .fusion folder for a tree or stacking design
(_export_hybrid.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from fusion_search._errors import UserError
from fusion_search.data import Manifest, ManifestSpec, manifest_images, read_manifest
from fusion_search.designs import get_kind
from fusion_search.serving._export_hybrid import FOLDER_SUFFIX, HybridModel, save_hybrid, train_hybrid
from fusion_search.serving._export_model import final_design, save_atomically, train_final_model
from fusion_search.serving._provenance import KEY, provenance
from fusion_search.study import chosen_trial, trial_design

KERAS_SUFFIX = ".keras"


def export_model(study: optuna.Study, trial_number: int | None, data: Any, path: Path,
                 spec: ManifestSpec = ManifestSpec()) -> dict:
    """Retrain the chosen trial (default: the best) on the manifest and save it at path; return a summary."""
    path = Path(path)
    trial = chosen_trial(study, trial_number)
    _require_model_path(path, trial)
    manifest = study_rows(study, data, spec)
    model = retrain(study, trial, manifest)
    save_model(model, path, study, trial, provenance(manifest, spec))
    if isinstance(model, HybridModel):
        return {"path": str(path), "trial": trial.number, "rows": manifest.rows, "format": "folder",
                "parts": sorted(p.name for p in path.iterdir()), "numeric_columns": list(manifest.numeric_columns),
                "image_size": model.image_size}
    names = sorted(tensor.name for tensor in model.inputs)
    return {"path": str(path), "trial": trial.number, "epochs": final_design(study, trial).epochs,
            "rows": manifest.rows, "inputs": names,
            "numeric_columns": list(manifest.numeric_columns) if "numeric" in names else [],
            "image_size": int(model.get_layer("image").batch_shape[1]) if "image" in names else None}


def retrain(study: optuna.Study, trial: optuna.trial.FrozenTrial, manifest: Manifest):
    """The trial's design fit on every row of the manifest: a raw-input keras.Model, or a HybridModel."""
    seed = int(study.user_attrs.get("seed", 0))
    kind = get_kind(trial.user_attrs.get("fusion", trial.params.get("fusion")))
    design = final_design(study, trial) if kind.neural else trial_design(study, trial)
    # decoded chunk by chunk into the cache (the search's own entry when it is there), read batch by batch
    images = manifest_images(manifest, design.decode_size) if kind.uses_image else None
    if not kind.neural:  # trees or stacking: retrained as a training fold was in the search
        return train_hybrid(design, manifest, images, seed)
    return train_final_model(design, manifest, images, seed, name=f"fusion_search_{design.fusion}_trial{trial.number}")


def save_model(model, path: Path, study: optuna.Study, trial: optuna.trial.FrozenTrial,
               about_rows: dict | None = None) -> None:
    """A retrained model saved whole or not at all: a .fusion folder for a HybridModel, else a .keras file;
    about_rows: its provenance (label, positive class, training rows) for `predict`."""
    if isinstance(model, HybridModel):
        save_hybrid(model, Path(path), {"study": study.study_name, "trial": trial.number,
                                        **({KEY: about_rows} if about_rows else {})})
    else:
        save_atomically(model, Path(path), about_rows)


def study_rows(study: optuna.Study, data: Any, spec: ManifestSpec = ManifestSpec()) -> Manifest:
    """The manifest an export retrains on, checked to be the data the study was searched on."""
    manifest = read_manifest(data, spec)
    expected = study.user_attrs.get("data_fingerprint")
    if expected is None:
        raise UserError(f"study '{study.study_name}' records no data fingerprint; cannot check the data")
    if manifest.fingerprint != expected:
        raise UserError(
            f"{_named(data)} is not the data study '{study.study_name}' was searched on "
            f"(fingerprint {manifest.fingerprint}, study has {expected}); use the same manifest and column flags")
    return manifest


def _named(data: Any) -> str:
    return f"manifest {data}" if isinstance(data, (str, Path)) else "the data"


def _require_model_path(path: Path, trial: optuna.trial.FrozenTrial) -> None:
    fusion = trial.user_attrs.get("fusion", trial.params.get("fusion"))
    suffix = KERAS_SUFFIX if get_kind(fusion).neural else FOLDER_SUFFIX
    if path.suffix not in {KERAS_SUFFIX, FOLDER_SUFFIX}:
        raise UserError(f"--model must name a .keras file (neural designs) or a .fusion folder "
                        f"(tree and stacked designs), got {path}")
    if path.suffix != suffix:
        wanted = ("(one Keras model): --model must name a .keras file" if suffix == KERAS_SUFFIX else
                  "(trees or stacking, not one Keras model): give --model a folder ending in .fusion")
        raise UserError(f"trial {trial.number} is a '{fusion}' design {wanted}, e.g. {path.with_suffix(suffix).name}")
    if not path.parent.is_dir():
        raise UserError(f"output folder does not exist: {path.parent}")
    if suffix == FOLDER_SUFFIX and path.exists() and not (path / "design.json").is_file():
        raise UserError(f"{path} exists and is not an export folder; not replacing it")

