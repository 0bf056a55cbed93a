"""`export --model NAME.fusion` for the tree and stacking designs (trees, stacked, trees on an image embedding):
the trial's design retrained on ALL rows the way cross-validation fit a training fold, saved as one
export folder that `fusion-search predict --model NAME.fusion` scores.

The folder (written into a hidden sibling folder, then renamed into place):

- ``design.json`` — format and version, the design's parameters, numeric column names, image size,
  how many image models there are and whether an embedding is used;
- ``trees.npz`` — the gradient-boosted trees as plain arrays (search/fusion/hybrid/_tree_file.py);
- ``image_model_0.keras`` … (``stacked``) — the inner image models; a new row's image score is
  their mean, as the scored fold's was in cross-validation (for K classes: K class probabilities);
- ``extractor.keras`` + ``pca.npz`` (``gbdt_on_embedding``) — the backbone feature extractor with
  its weights (random-weight backbones are not reproducible otherwise) and the PCA fit on all rows.

Trust model: nothing in the folder is unpickled. ``design.json`` is read with ``json``; the trees and
the PCA are numeric arrays read with ``np.load(allow_pickle=False)`` and checked before use; the Keras
parts load with ``keras.saving.load_model(safe_mode=True)``, which refuses lambda layers and other
stored code. File names are fixed, never taken from the folder. So opening an export folder from an
untrusted place runs none of its content as code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from fusion_search._errors import UserError
from fusion_search.data import DESCRIPTOR_NAMES, Manifest, chunked_descriptors, inner_folds
from fusion_search.designs import DESCRIPTORS, NEURAL, Design, get_kind
from fusion_search.models import (
    SCORING_BATCH, RowBatches, feature_extractor, keras, make_deterministic, predict_scores, with_preprocessing,
)
from fusion_search.serving._folder import folder_built_beside
from fusion_search.serving._tree_file import TreeEnsemble, from_sklearn, load_trees, save_trees
from fusion_search.trainers import FoldData, fit_trees, get_trainer, table_features

FOLDER_SUFFIX = ".fusion"
POOL_ROWS = 1024  # images whose feature maps are in memory at once while pooling
FORMAT, VERSION = "fusion-search-hybrid", 1


@dataclass(frozen=True)
class Projection:
    """A fitted PCA as arrays; ``transform`` is scikit-learn's PCA.transform."""

    components: np.ndarray
    mean: np.ndarray
    scale: np.ndarray | None  # sqrt(explained variance) when whitened

    @classmethod
    def from_sklearn(cls, pca: PCA) -> "Projection":
        scale = None
        if pca.whiten:
            scale = np.sqrt(pca.explained_variance_)
            scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        return cls(pca.components_, pca.mean_, scale)

    def transform(self, x: np.ndarray) -> np.ndarray:
        projected = x @ self.components.T - self.mean.reshape(1, -1) @ self.components.T
        return projected / self.scale if self.scale is not None else projected


@dataclass(frozen=True)
class HybridModel:
    """Retrained hybrid pieces; the trees read [numeric columns; category codes; mean image score?; embedding?]."""

    design: Design
    numeric_columns: tuple[str, ...]
    trees: TreeEnsemble
    image_models: tuple[keras.Model, ...] = ()
    extractor: keras.Model | None = None
    projection: Projection | None = None
    categorical_columns: tuple[str, ...] = ()
    category_codes: tuple[dict[str, int], ...] = ()  # per categorical column: category -> code 1..V (else unknown)

    @property
    def image_size(self) -> int | None:
        return self.design.decode_size if get_kind(self.design.fusion).uses_image else None

    def score(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Positive-class probabilities (K classes: (rows, K)) of rows given as {"numeric": raw columns (NaN
        allowed), "categorical": strings, "image": uint8}; a category never seen in training goes where missing
        values go."""
        columns = [inputs["numeric"]]
        if self.categorical_columns:
            columns.append(np.array([[codes.get(value, 0) - 1.0 if codes.get(value, 0) else np.nan
                                      for value, codes in zip(row, self.category_codes)]
                                     for row in inputs["categorical"]]).reshape(-1, len(self.categorical_columns)))
        seen = image_inputs(self.design, inputs["image"]) if self.image_size is not None else {}
        if self.image_models:
            columns.append(mean_image_score(self.image_models, seen))
        if self.extractor is not None:
            columns.append(self.projection.transform(pooled(self.extractor, inputs["image"])))
        elif "image_features" in seen and not self.image_models:  # trees on the descriptors themselves
            columns.append(seen["image_features"])
        return self.trees.predict_proba(np.column_stack(columns))


def image_inputs(design: Design, images: np.ndarray) -> dict[str, np.ndarray]:
    """What the design's image models read: the pixels, or their descriptors (backbone "descriptors")."""
    return {"image_features": chunked_descriptors(images)} if design.backbone == DESCRIPTORS else {"image": images}


def mean_image_score(models, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The inner image models' mean score of every row: (rows,), or (rows, K) class probabilities."""
    rows = np.arange(len(next(iter(inputs.values()))))
    total = 0.0
    for model in models:  # summed as cross-validation summed the inner models' scores of the scored fold
        total = total + predict_scores(model, RowBatches(inputs, rows, SCORING_BATCH)) / len(models)
    return total


def pooled(extractor: keras.Model, images: np.ndarray) -> np.ndarray:
    """Global-average-pooled feature maps, as gbdt_on_embedding pools them in cross-validation (a chunk of rows at
    a time: never every image's maps in memory; RowBatches reads the next batches while the extractor runs)."""
    every = np.arange(len(images))
    return np.concatenate([
        np.asarray(extractor.predict(RowBatches({"image": images}, every[start:start + POOL_ROWS], 64), verbose=0),
                   dtype=np.float32).mean(axis=(1, 2)) for start in range(0, len(images), POOL_ROWS)])


# --- training on all rows -------------------------------------------------------------------------

def train_hybrid(design: Design, manifest: Manifest, images: np.ndarray | None, seed: int) -> HybridModel:
    """Fit the design on every row as a CV training fold is fit (trees keep their own early stopping on a
    slice of the rows, whole groups when the manifest has them)."""
    if design.fusion not in _TRAINERS:
        raise UserError(f"design '{design.fusion}' has no export for hybrid designs")
    make_deterministic()
    return _TRAINERS[design.fusion](design, manifest, images, seed)


def _fitted(design: Design, manifest: Manifest, seed: int, extra: tuple = (), **parts) -> HybridModel:
    """Trees fit on every row's [numbers; category codes learned on every row; extra columns], as a model."""
    rows = np.arange(manifest.rows)
    x, categorical, categories = table_features(FoldData.of(manifest), rows, *extra)
    trees = from_sklearn(fit_trees(design, x, manifest.labels, rows, seed, manifest.groups, categorical))
    return HybridModel(design, manifest.numeric_columns, trees, categorical_columns=manifest.categorical_columns,
                       category_codes=tuple(categories.mappings()), **parts)


def _train_gbdt_only(design: Design, manifest: Manifest, images, seed: int) -> HybridModel:
    return _fitted(design, manifest, seed)


def _train_stacked(design: Design, manifest: Manifest, images: np.ndarray, seed: int) -> HybridModel:
    """K inner image models cross-fitted on all rows give every row an out-of-fold image score (as the stacked
    trainer does inside a training fold); the trees fit on those."""
    image_design = replace(design, fusion=get_kind(design.fusion).network_kind().name)
    width = () if manifest.n_classes == 2 else (manifest.n_classes,)  # K classes: K image columns
    labels, out_of_fold, models = manifest.labels, np.empty((manifest.rows, *width)), []
    seen = image_inputs(design, images)
    folds = inner_folds(labels, np.arange(manifest.rows), design.stacked_inner_folds, seed, manifest.groups)
    for inner, (fit_rows, held_rows) in enumerate(folds):
        models.append(_fit_image_model(image_design, seen, manifest, fit_rows, seed + 1 + inner))
        out_of_fold[held_rows] = predict_scores(models[-1], RowBatches(seen, held_rows, SCORING_BATCH))
    return _fitted(design, manifest, seed, (out_of_fold,), image_models=tuple(models))


def _fit_image_model(design: Design, seen: dict[str, np.ndarray], manifest: Manifest, train_idx: np.ndarray,
                     seed: int) -> keras.Model:
    """An image_only design fit as a CV fold fits it, keeping the model (image input, one output)."""
    data = FoldData(seen.get("image"), np.zeros((manifest.rows, 0), dtype=np.float32), manifest.labels,
                    seen.get("image_features"), manifest.groups)
    fitted = get_trainer(NEURAL).fit(design, data, train_idx, seed, reuse=False)
    return with_preprocessing(fitted.model, None, (), name=f"image_model_seed{seed}")


def _train_gbdt_on_embedding(design: Design, manifest: Manifest, images: np.ndarray, seed: int) -> HybridModel:
    if design.backbone == DESCRIPTORS:  # the trees read the descriptors themselves, as in cross-validation
        return _fitted(design, manifest, seed, (chunked_descriptors(images),))
    keras.utils.set_random_seed(seed)  # random-weight backbones: the saved extractor keeps the draw
    extractor = feature_extractor(design)
    features = pooled(extractor, images)
    pca = PCA(n_components=min(design.embedding_dims, manifest.rows - 1, features.shape[1]),
              random_state=seed % 2**31).fit(features)
    projection = Projection.from_sklearn(pca)
    return _fitted(design, manifest, seed, (projection.transform(features),), extractor=extractor, projection=projection)


_TRAINERS = {"gbdt_only": _train_gbdt_only, "stacked": _train_stacked, "gbdt_on_embedding": _train_gbdt_on_embedding}


# --- the export folder ----------------------------------------------------------------------------

def save_hybrid(model: HybridModel, path: Path, about: dict) -> None:
    """Write every part into a hidden sibling folder, then swap it in: a failure leaves no half folder."""
    with folder_built_beside(Path(path)) as partial:
        _write_parts(model, partial, about)


def _write_parts(model: HybridModel, folder: Path, about: dict) -> None:
    meta = {"format": FORMAT, "version": VERSION, **about, "fusion": model.design.fusion,
            "design": model.design.to_params(), "numeric_columns": list(model.numeric_columns),
            "image_size": model.image_size, "image_models": len(model.image_models),
            "embedding": model.extractor is not None, "categorical_columns": list(model.categorical_columns),
            "category_codes": list(model.category_codes)}
    (folder / "design.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    save_trees(model.trees, folder / "trees.npz")
    for index, image_model in enumerate(model.image_models):
        image_model.save(folder / f"image_model_{index}.keras")
    if model.extractor is not None:
        model.extractor.save(folder / "extractor.keras")
        scale = model.projection.scale
        np.savez(folder / "pca.npz", components=model.projection.components, mean=model.projection.mean,
                 whiten=np.bool_(scale is not None), scale=scale if scale is not None else np.zeros(0))


def load_hybrid(path: Path) -> HybridModel:
    """Open an export folder without unpickling anything; UserError for a folder that is not one."""
    path = Path(path)
    if not (path / "design.json").is_file():
        raise UserError(f"{path} is not an export folder of fusion-search (no design.json)")
    try:
        meta = json.loads((path / "design.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise UserError(f"format {meta.get('format')!r} version {meta.get('version')!r}; "
                            f"this fusion-search reads {FORMAT!r} version {VERSION}")
        model = HybridModel(
            Design.from_params(meta["design"]), tuple(str(c) for c in meta["numeric_columns"]),
            load_trees(path / "trees.npz"),
            image_models=tuple(_load_keras(path / f"image_model_{i}.keras") for i in range(int(meta["image_models"]))),
            extractor=_load_keras(path / "extractor.keras") if meta["embedding"] else None,
            projection=_load_projection(path / "pca.npz") if meta["embedding"] else None,
            categorical_columns=tuple(str(c) for c in meta.get("categorical_columns", [])),
            category_codes=tuple({str(k): int(v) for k, v in codes.items()} for codes in meta.get("category_codes", [])))
    except Exception as error:  # a damaged folder: one line naming it, never a traceback
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"cannot load model folder {path}: {reason[:200]}") from None
    _check_widths(model, path)
    return model


def _load_keras(path: Path) -> keras.Model:
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def _load_projection(path: Path) -> Projection:
    with np.load(path, allow_pickle=False) as saved:
        return Projection(saved["components"], saved["mean"], saved["scale"] if bool(saved["whiten"]) else None)


def _check_widths(model: HybridModel, path: Path) -> None:
    classes = len(model.trees.baseline)  # 1 for two classes, else K: the stacked image score has as many columns
    width = len(model.numeric_columns) + len(model.categorical_columns) + (classes if model.image_models else 0)
    if model.design.fusion == "gbdt_on_embedding" and model.design.backbone == DESCRIPTORS:
        width += len(DESCRIPTOR_NAMES)
    width += len(model.projection.components) if model.projection is not None else 0
    if width != model.trees.n_features:
        raise UserError(f"cannot load model folder {path}: its trees read {model.trees.n_features} features, "
                        f"its parts give {width}")
