"""Checks of every registered backbone that run unchanged on every Keras backend.

The TensorFlow tests call ``check_backbone`` in-process; the JAX tests run this module once as
``KERAS_BACKEND=jax python -m tests.models.backbone_checks OUT.json`` (JAX cannot be Keras's backend
beside TensorFlow in one process).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from fusion_search.designs import Design
from fusion_search.models import (
    backbone_blocks, build_backbone, build_model, keras, loss_spec, make_optimizer, registered_backbones,
)
from fusion_search.models._backbones import BACKBONES

SIZE = 32


def check_backbone(name: str, folder: Path) -> dict:
    """Blocks, a weights-file round trip, and one training step with the top block fine-tuned."""
    keras.utils.set_random_seed(0)
    _, model = build_backbone(name, SIZE, "none", 0)
    path = folder / f"{name}.weights.h5"
    model.save_weights(str(path))
    _, again = build_backbone(name, SIZE, str(path), 0)
    _, fresh = build_backbone(name, SIZE, "none", 0)
    return {
        "blocks": len(backbone_blocks(model, BACKBONES[name].blocks)),
        "file_weights_equal": _same(model.get_weights(), again.get_weights()),
        "fresh_weights_equal": _same(model.get_weights(), fresh.get_weights()),
        "step": _one_step(name, str(path), lr_backbone=1e-2),
        "step_lr_zero": _one_step(name, str(path), lr_backbone=0.0),
    }


def _one_step(name: str, weights: str, lr_backbone: float) -> dict:
    """One train_on_batch of image_only with trainable_blocks=1: which backbone weights moved. (A tanh image output:
    a ReLU one of a few units can start dead on random features, and then nothing below it gets a gradient.)"""
    design = Design(fusion="image_only", backbone=name, weights=weights, image_size=SIZE, trainable_blocks=1,
                    image_units=8, image_activation="tanh", lr_backbone=lr_backbone, lr_image=1e-2, lr_fusion=1e-2)
    model = build_model(design, 0)
    model.compile(optimizer=make_optimizer(design, model), **loss_spec(model, design))
    backbone = model.get_layer("backbone")
    blocks = backbone_blocks(backbone, BACKBONES[name].blocks)
    top, bottom = _weights(blocks[-1], trainable=True), _weights(blocks[0], trainable=False)
    head = model.get_layer("image_output").get_weights()
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (8, SIZE, SIZE, 3)).astype("uint8")
    loss = float(np.ravel(model.train_on_batch({"image": images}, rng.integers(0, 2, 8).astype("float32")))[0])
    return {
        "loss_finite": bool(np.isfinite(loss)),
        "top_block_trainable": bool(_weights(blocks[-1], trainable=True)) and bool(top),
        "top_block_moved": not _same(top, _weights(blocks[-1], trainable=True)),
        "bottom_block_moved": not _same(bottom, _weights(blocks[0], trainable=False)),
        "bottom_block_trainable_variables": sum(len(layer.trainable_weights) for layer in blocks[0]),
        "head_moved": not _same(head, model.get_layer("image_output").get_weights()),
    }


def _weights(block: list, trainable: bool) -> list[np.ndarray]:
    """The block's trainable weights (trainable=True) or all its weights."""
    return [keras.ops.convert_to_numpy(w) for layer in block for w in (layer.trainable_weights if trainable else layer.weights)]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        results = {name: check_backbone(name, Path(folder)) for name in registered_backbones()}
    Path(out).write_text(json.dumps({"backend": keras.backend.backend(), "results": results}))


if __name__ == "__main__":
    main(sys.argv[1])
