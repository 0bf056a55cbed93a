"""`fusion-search predict`: score a table with a model written by `export --model` (or just retrained).

What the model needs it remembers itself: the numeric column names (config of its
NumericPreprocess layer) and the image size (shape of its ``image`` input). A ``.fusion`` export
folder (tree and stacking designs, _export_hybrid.py) keeps both in its design.json, and its trees
take missing numbers as they are (they learned where NaN goes). Handling of input:

- a numeric column the model needs is missing: error naming it, nothing written;
- extra columns: ignored for scoring, copied to the output unchanged (with ``score`` appended; for a model of K
  classes, ``p_<class>`` for each class and ``predicted``);
- empty or NaN numeric values: imputed with the training median (as in the search);
  non-numeric or infinite values: error naming column and row;
- a missing or unreadable image: error naming the rows (up to five), nothing written;
- a label column (optional): the AUC is printed (K classes: the macro one-vs-rest AUC and each class's);
- a category the training rows never had: scored as the unknown category, and counted per column in one line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from fusion_search._errors import UserError
from fusion_search.data import (
    DESCRIPTOR_VERSION, Table, apply_merges, binary_labels, category_matrix, cell_text, image_chunks,
    image_descriptors, image_paths, merge_groups, numeric_matrix, prefetched,
)
from fusion_search.models import CategoricalVocabulary, ImageDescriptors, NumericPreprocess, keras, predict_scores
from fusion_search.serving._export_ensemble import EnsembleModel, load_ensemble
from fusion_search.serving._export_hybrid import HybridModel, load_hybrid
from fusion_search.storage import write_text_atomically
from fusion_search.study import blend

SCORE_COLUMN = "score"
PREDICTED_COLUMN = "predicted"  # K classes: the most probable class, beside a p_<class> column for each
# The model was trained on this column as numbers; a blank cell is scored as missing (the training median, for a
# network; the trees' side for missing values).
NOT_A_NUMBER = "the model reads this column as numbers: correct the cell, or leave it blank to score it as missing"
PREDICT_ROWS = 1024  # images decoded and scored at a time (the next chunk is decoded meanwhile)


@dataclass(frozen=True)
class ModelContract:
    """What an exported model reads from a manifest."""

    image_size: int | None  # None: the model uses no image
    numeric_columns: tuple[str, ...] | None  # None: the model uses no numbers
    categorical_columns: tuple[str, ...] = ()
    descriptors: bool = False  # the model reads the images' classical descriptors, not their pixels


def load_exported_model(path: Path) -> keras.Model | HybridModel | EnsembleModel:
    path = Path(path)
    if path.is_dir() and (path / "ensemble.json").is_file():  # an ensemble: its members are exports too
        return load_ensemble(path, load_exported_model)
    if path.is_dir():  # a tree or stacking design's export folder
        return load_hybrid(path)
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a file that is not one of its models
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"cannot load model {path}: {reason[:200]}") from None


def model_contract(model: keras.Model | HybridModel) -> ModelContract:
    if isinstance(model, HybridModel):
        return ModelContract(model.image_size, model.numeric_columns, model.categorical_columns)
    names = {tensor.name: tensor for tensor in model.inputs}
    numeric = _layer(model, NumericPreprocess) if "numeric" in names else None
    categorical = _layer(model, CategoricalVocabulary) if "categorical" in names else None
    described = _layer(model, ImageDescriptors) if "image_features" in names else None
    if described is not None and described.version != DESCRIPTOR_VERSION:
        raise UserError(f"this model reads image descriptors of version {described.version}; this fusion-search "
                        f"computes version {DESCRIPTOR_VERSION}")
    image_size = int(names["image"].shape[1]) if "image" in names else described.image_size if described else None
    return ModelContract(image_size, tuple(numeric.columns) if numeric else None,
                         tuple(categorical.columns) if categorical else (), described is not None)


def _layer(model: keras.Model, kind: type):
    found = [layer for layer in model.layers if isinstance(layer, kind)]
    if not found:
        raise UserError(f"this model has no {kind.__name__} layer: export it with `fusion-search export --model`")
    return found[0]


def score_table(model: keras.Model | HybridModel | EnsembleModel, table: Table,
                image_column: str = "image") -> np.ndarray:
    """Scores of every row, in order; UserError for anything the model cannot read. Images are decoded and scored
    PREDICT_ROWS at a time, never all in memory (a bad image is named once all are read)."""
    if isinstance(model, EnsembleModel):  # the members' scores, blended as the selection blended them
        scores = [score_table(member, table, image_column) for _, member, _ in model.members]
        return blend(np.array(scores), np.array([weight for *_, weight in model.members]))
    contract = model_contract(model)
    inputs = table_inputs(model, contract, table)
    if contract.image_size is None:
        return _scores(model, inputs)
    scores, start = [], 0
    chunks = image_chunks(image_paths(table, image_column), contract.image_size, PREDICT_ROWS)
    for images in prefetched(chunks, 1):  # the next chunk is decoded while this one is scored
        part = {name: values[start:start + len(images)] for name, values in inputs.items()}
        part.update({"image_features": image_descriptors(images)} if contract.descriptors else {"image": images})
        scores.append(_scores(model, part))
        start += len(images)
    return np.concatenate(scores) if scores else np.empty(0)


def table_inputs(model: keras.Model | HybridModel, contract: ModelContract, table: Table) -> dict[str, np.ndarray]:
    """The numbers and category codes (or strings, for trees) the model reads, of every row."""
    inputs = {}
    if contract.numeric_columns is not None:
        missing = [c for c in contract.numeric_columns if c not in table.columns]
        if missing:
            raise UserError(f"{table.source} lacks numeric column(s) the model needs: {', '.join(missing)}")
        inputs["numeric"] = numeric_matrix(table, contract.numeric_columns, NOT_A_NUMBER)
    if contract.categorical_columns:
        missing = [c for c in contract.categorical_columns if c not in table.columns]
        if missing:
            raise UserError(f"{table.source} lacks categorical column(s) the model needs: {', '.join(missing)}")
        strings = category_matrix(table, contract.categorical_columns)
        inputs["categorical"] = strings if isinstance(model, HybridModel) else np.array(
            _layer(model, CategoricalVocabulary).encode(strings), dtype=np.int32)
    return inputs


def unseen_categories(model: keras.Model | HybridModel | EnsembleModel, table: Table) -> dict[str, int]:
    """Per categorical column the model reads, how many of the table's rows hold a category its training rows never
    had (scored as the unknown category); for an ensemble, the most any member saw unknown."""
    if isinstance(model, EnsembleModel):
        counts: dict[str, int] = {}
        for _, member, _ in model.members:
            for column, unseen in unseen_categories(member, table).items():
                counts[column] = max(counts.get(column, 0), unseen)
        return counts
    if isinstance(model, HybridModel):
        columns, known = model.categorical_columns, model.category_codes
    else:
        columns = model_contract(model).categorical_columns
        known = _layer(model, CategoricalVocabulary).codes if columns else []
    if not columns or any(c not in table.columns for c in columns):
        return {}
    strings = category_matrix(table, columns)
    return {column: int(sum(value not in codes for value in strings[:, j]))
            for j, (column, codes) in enumerate(zip(columns, known))}


def _scores(model: keras.Model | HybridModel, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return model.score(inputs) if isinstance(model, HybridModel) else predict_scores(model, inputs)


def table_labels(table: Table, column: str, positive: str | None, merges: list[list[str]] | None = None,
                 classes: list[str] | None = None, multiclass: bool = False) -> np.ndarray | None:
    """Labels when the column exists on every row, after the merges the model was trained with: 0/1 of the positive
    class (given, else 1 of 0/1) against every other, or, for a model of K classes (``multiclass``) and no positive
    class given, each row's class index in ``classes``. None, with a note saying why, where no AUC can be told: a
    class the model never saw (``classes``, as exported; an export without them: exactly two classes)."""
    if column not in table.columns:
        return None
    values = [cell_text(v) for v in table.column(column)]
    if "" in values:
        print(f"note: label column '{column}' is empty on some rows; AUC not computed")
        return None
    values = apply_merges(values, merge_groups(merges), column, strict=False)
    unseen = sorted(set(values) - set(classes)) if classes else []
    if unseen or (not classes and len(set(values)) > 2):
        what = f"classes the model never saw ({', '.join(unseen)})" if unseen else "more than two classes"
        print(f"note: label column '{column}' holds {what}; AUC not computed")
        return None
    if multiclass and not positive:
        if not classes:
            print("note: this model scores several classes but records no class names; AUC not computed")
            return None
        index = {name: i for i, name in enumerate(classes)}
        return np.array([index[v] for v in values], dtype=np.int16)
    try:
        return binary_labels(values, None if positive is None else cell_text(positive), column)
    except UserError as problem:
        print(f"note: {problem}; AUC not computed")
        return None


def auc_in_words(labels: np.ndarray, scores: np.ndarray, column: str, classes: list[str] | None = None,
                 positive: str | None = None) -> str | None:
    """The AUC of scores against labels in words: binary ROC AUC, one class's column against the rest (a K-class
    model scored for ``positive``), or the macro one-vs-rest AUC of K-class scores over the classes the rows hold
    (each needs rows of its own and others), with each class's AUC; None when no class can be scored."""
    if scores.ndim == 1 or positive:
        score = scores if scores.ndim == 1 else scores[:, list(classes).index(cell_text(positive))]
        if len(np.unique(labels)) < 2:
            print("note: the labels hold one class only; AUC not computed")
            return None
        return f"ROC AUC against column '{column}': {roc_auc_score(labels, score):.4f}"
    present = [k for k in range(scores.shape[1]) if 0 < np.sum(labels == k) < len(labels)]
    if not present:
        print("note: the labels hold one class only; AUC not computed")
        return None
    aucs = [roc_auc_score(labels == k, scores[:, k]) for k in present]
    absent = [classes[k] for k in range(scores.shape[1]) if k not in present]
    each = ", ".join(f"{classes[k]} {auc:.4f}" for k, auc in zip(present, aucs))
    over = f" over the {len(present)} of {scores.shape[1]} classes present" if absent else ""
    return f"macro one-vs-rest ROC AUC{over} against column '{column}': {np.mean(aucs):.4f} (per class: {each})"


def write_predictions(path: Path, table: Table, scores: np.ndarray, classes: list[str] | None = None) -> None:
    """The table's columns as they came, plus the score (two classes), or for K-class scores one probability column
    p_<class> per class and the predicted class (the most probable); written whole or not at all. A new column
    whose name the table already has is prefixed with fusion_search_."""
    out = io.StringIO()
    writer = csv.writer(out)
    if scores.ndim == 1:
        added, cells = [SCORE_COLUMN], ([f"{score:.6f}"] for score in scores)
    else:
        names = list(classes or range(scores.shape[1]))
        added = [f"p_{name}" for name in names] + [PREDICTED_COLUMN]
        cells = ([*(f"{p:.6f}" for p in row), str(names[int(np.argmax(row))])] for row in scores)
    writer.writerow([*table.header, *(c if c not in table.columns else f"fusion_search_{c}" for c in added)])
    for values, new in zip(zip(*table.columns.values()), cells):
        writer.writerow([*values, *new])
    write_text_atomically(path, out.getvalue())
