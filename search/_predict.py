"""`fusion-search predict`: score a manifest with a model written by `export --model`.

What the model needs it remembers itself: the numeric column names (config of its
NumericPreprocess layer) and the image size (shape of its ``image`` input). A ``.fusion`` export
folder (hybrid designs, search/_export_hybrid.py) keeps both in its design.json, and its trees take
missing numbers as they are (they learned where NaN goes). Handling of input:

- a numeric column the model needs is missing: error naming it, nothing written;
- extra columns: ignored for scoring, copied to the output unchanged (with ``score`` appended);
- empty or NaN numeric values: imputed with the training median (as in the search);
  non-numeric or infinite values: error naming column and row;
- a missing or unreadable image: error naming the rows (up to five), nothing written;
- a label column (optional): when it holds two classes, the AUC is printed.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from search._data import _parse_number, _read_csv
from search._errors import UserError
from search._export_hybrid import HybridModel, load_hybrid
from search._export_model import NumericPreprocess
from search._images import decode_images
from search._train import predict_scores

SCORE_COLUMN = "score"


@dataclass(frozen=True)
class ModelContract:
    """What an exported model reads from a manifest."""

    image_size: int | None  # None: the model uses no image
    numeric_columns: tuple[str, ...] | None  # None: the model uses no numbers


def predict_command(args: argparse.Namespace) -> int:
    model = load_exported_model(args.model)
    header, rows = _read_csv(args.data)
    scores = score_rows(model, header, rows, args.data, args.image_column)
    _write_predictions(args.output, header, rows, scores)
    print(f"scored {len(rows)} rows of {args.data}; wrote {args.output}")
    labels = manifest_labels(header, rows, args.label_column, args.positive)
    if labels is not None:
        print(f"ROC AUC against column '{args.label_column}': {roc_auc_score(labels, scores):.4f}")
    return 0


def load_exported_model(path: Path) -> keras.Model | HybridModel:
    path = Path(path)
    if path.is_dir():  # a hybrid design's export folder
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
        return ModelContract(model.image_size, model.numeric_columns)
    names = {tensor.name: tensor for tensor in model.inputs}
    if "numeric" in names:
        preprocess = [layer for layer in model.layers if isinstance(layer, NumericPreprocess)]
        if not preprocess:
            raise UserError("this model has no NumericPreprocess layer: export it with `fusion-search export --model`")
    image_size = int(names["image"].shape[1]) if "image" in names else None
    return ModelContract(image_size, tuple(preprocess[0].columns) if "numeric" in names else None)


def score_rows(model: keras.Model | HybridModel, header: list[str], rows: list[dict[str, str]], manifest: Path,
               image_column: str = "image") -> np.ndarray:
    """Scores of every row, in order; UserError for anything the model cannot read."""
    contract = model_contract(model)
    inputs = {}
    if contract.numeric_columns is not None:
        inputs["numeric"] = _numeric(header, rows, contract.numeric_columns, manifest)
    if contract.image_size is not None:
        inputs["image"] = decode_images(_image_paths(header, rows, image_column, manifest), contract.image_size)
    return model.score(inputs) if isinstance(model, HybridModel) else predict_scores(model, inputs)


def manifest_labels(header: list[str], rows: list[dict[str, str]], column: str, positive: str | None) -> np.ndarray | None:
    """0/1 labels when the column exists with exactly two values (positive: given, else 1 of 0/1)."""
    if column not in header:
        return None
    values = [(row[column] or "").strip() for row in rows]
    distinct = sorted(set(values))
    if len(distinct) != 2 or "" in distinct:
        print(f"note: label column '{column}' does not hold two classes on every row; AUC not computed")
        return None
    if positive is None:
        positive = "1" if distinct == ["0", "1"] else None
    if positive not in distinct:
        print(f"note: say which of {distinct[0]!r}, {distinct[1]!r} is positive with --positive to get the AUC")
        return None
    return np.array([v == positive for v in values], dtype=np.int8)


def _numeric(header: list[str], rows: list[dict[str, str]], columns: tuple[str, ...], manifest: Path) -> np.ndarray:
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(f"manifest {manifest} lacks numeric column(s) the model needs: {', '.join(missing)}")
    return np.array([[_parse_number(row[c], c, i) for c in columns] for i, row in enumerate(rows)], dtype=np.float32)


def _image_paths(header: list[str], rows: list[dict[str, str]], column: str, manifest: Path) -> tuple[Path, ...]:
    if column not in header:
        raise UserError(f"manifest {manifest} has no image column '{column}' (--image-column); "
                        f"columns are: {', '.join(header)}")
    base = Path(manifest).resolve().parent
    return tuple(base / (row[column] or "").strip() for row in rows)


def _write_predictions(path: Path, header: list[str], rows: list[dict[str, str]], scores: np.ndarray) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"output folder does not exist: {path.parent}")
    out = io.StringIO()
    writer = csv.writer(out)
    column = SCORE_COLUMN if SCORE_COLUMN not in header else "fusion_search_score"
    writer.writerow([*header, column])
    for row, score in zip(rows, scores):
        writer.writerow([*(row[c] for c in header), f"{score:.6f}"])
    partial = path.with_name(path.name + ".partial")
    partial.write_text(out.getvalue(), encoding="utf-8")
    partial.replace(path)
