"""Checks of one fusion design that run unchanged on every Keras backend.

The TensorFlow tests call ``check_fusion`` in-process; the JAX tests run this module once as
``KERAS_BACKEND=jax python -m tests.models.fusion_checks OUT.json``, which checks every case and
writes the results as JSON (one process: JAX cannot be loaded beside TensorFlow as Keras's backend).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from fusion_search.designs import Design, get_kind, list_fusions
from fusion_search.models import RowBatches, build_model, loss_spec, make_optimizer, model_inputs, output_names

# variants worth their own case: the non-default setting of a fusion's optional switch
VARIANTS = [("film", {"film_target": "feature_map"}), ("attention", {"attention_tokens": "feature_map"}),
            ("late", {"late_aux_weight": 0.1})]
TRAIN_STEPS = 30  # full-batch Adam steps at lr 1e-2


def fusion_cases() -> list[tuple[str, dict]]:
    """Every registered fusion with its defaults, then the variants of those that have one."""
    return [(name, {}) for name in list_fusions()] + [(n, extra) for n, extra in VARIANTS if n in list_fusions()]


def case_id(fusion: str, extra: dict) -> str:
    return "-".join([fusion, *map(str, extra.values())])


def variable_group(path: str) -> str:
    """The learning-rate group of a variable path (layer names carry it, as make_optimizer expects)."""
    layer = path.split("/")[0]
    for prefix, group in (("block", "backbone"), ("image_", "image"), ("numeric_", "numeric")):
        if layer.startswith(prefix):
            return group
    return "fusion"


def tiny_design(fusion: str, **extra) -> Design:
    """small_cnn on 16 px images, every width 8, all three backbone blocks trainable, no norm or dropout."""
    rates = {f"lr_{group}": 1e-2 for group in ("backbone", "image", "numeric", "fusion")}
    return Design(fusion=fusion, backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3,
                  image_units=8, numeric_layers=1, numeric_width=8, numeric_units=8, fusion_units=8,
                  head_units=8, bilinear_rank=2, **{**rates, **extra})


def tiny_data(rows: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images whose brightness is latent a, numeric column 0 is latent b, label 1[a + b > 0]."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    images = np.clip(128 + 40 * a[:, None, None, None] + rng.normal(0, 10, (rows, 16, 16, 3)), 0, 255)
    numeric = np.column_stack([b, rng.normal(size=(rows, 2))]).astype("float32")
    return images.astype("uint8"), numeric, (a + b > 0).astype("float32")


def one_training_batch(model: keras.Model, images: np.ndarray, numeric: np.ndarray, labels: np.ndarray):
    """(inputs, targets) of every row as one batch, made as the fold trainer makes its batches (RowBatches gives
    each of the model's outputs the labels)."""
    rows = np.arange(len(labels))
    return RowBatches(model_inputs(model, images, numeric), rows, len(rows), labels, outputs=output_names(model),
                      read_ahead=0)[0]


def check_fusion(fusion: str, extra: dict, folder: Path) -> dict:
    """Gradient reach, training progress and the .keras round trip of one fusion design.

    The first Adam step moves a weight exactly when its gradient is non-zero (the update is
    lr·g/(|g| + ε), and weight decay is 0), so the weights it moved are those that got a gradient.
    """
    design = tiny_design(fusion, **extra)
    images, numeric, labels = tiny_data()
    keras.utils.set_random_seed(0)
    model = build_model(design, numeric.shape[1])
    inputs, targets = one_training_batch(model, images, numeric, labels)
    model.compile(optimizer=make_optimizer(design), jit_compile="auto", **loss_spec(model, design))  # XLA on JAX only
    loss_before = _bce(labels, _scores(model, inputs))
    before = {v.path: _numpy(v) for v in model.trainable_variables}
    model.train_on_batch(inputs, targets)
    moved = sorted(v.path for v in model.trainable_variables if not np.array_equal(before[v.path], _numpy(v)))
    for _ in range(TRAIN_STEPS - 1):
        model.train_on_batch(inputs, targets)
    scores = _scores(model, inputs)
    path = folder / f"{case_id(fusion, extra)}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    cls = get_kind(fusion)
    return {"moved": moved, "variables": sorted(before), "loss_before": loss_before, "loss_after": _bce(labels, scores),
            "round_trip_max_diff": float(np.max(np.abs(_scores(loaded, inputs) - scores))),
            "uses_image": cls.uses_image, "uses_numeric": cls.uses_numeric}


def _scores(model: keras.Model, inputs: dict) -> np.ndarray:
    scores = model(inputs, training=False)
    scores = scores["score"] if isinstance(scores, dict) else scores
    return keras.ops.convert_to_numpy(scores).astype("float64").reshape(-1)


def _numpy(variable) -> np.ndarray:
    return keras.ops.convert_to_numpy(variable.value).copy()


def _bce(labels: np.ndarray, scores: np.ndarray) -> float:
    scores = np.clip(scores, 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(scores) + (1 - labels) * np.log(1 - scores)))


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        results = {case_id(f, extra): {"backend": keras.backend.backend(), **check_fusion(f, extra, Path(folder))}
                   for f, extra in fusion_cases()}
    Path(out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
