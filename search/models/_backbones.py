"""Image backbones by name: keras.applications models and a small CNN for CPUs and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
from keras import layers, ops

from fusion_search._errors import UserError
from fusion_search.designs import list_backbones


@keras.saving.register_keras_serializable(package="fusion_search")
class CaffePreprocess(layers.Layer):
    """VGG's own input preprocessing ('caffe' mode): RGB -> BGR, minus the ImageNet channel means."""

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=self.compute_dtype)


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone and preprocess its input."""

    build: Callable[[int, str | None], keras.Model]  # (image size, keras weights arg) -> feature-map model
    preprocess: Callable[[], layers.Layer]
    imagenet: bool  # whether weights="imagenet" exists for it


def _vgg16(size: int, weights: str | None) -> keras.Model:
    return keras.applications.VGG16(include_top=False, weights=weights, input_shape=(size, size, 3), name="backbone")


def _small_cnn(size: int, weights: str | None) -> keras.Model:
    del weights
    inputs = keras.Input((size, size, 3))
    x = inputs
    for block, filters in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv1")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="backbone")


BACKBONES: dict[str, BackboneSpec] = {
    "vgg16": BackboneSpec(_vgg16, CaffePreprocess, imagenet=True),
    "small_cnn": BackboneSpec(_small_cnn, lambda: layers.Rescaling(1.0 / 255.0), imagenet=False),
}


def build_backbone(name: str, size: int, weights: str, trainable_blocks: int) -> tuple[layers.Layer, keras.Model]:
    """(input preprocessing layer, feature-map model with only its top `trainable_blocks` blocks trainable)."""
    spec = _spec(name)
    model = _with_weights(spec, name, size, weights)
    _freeze_below(model, trainable_blocks)
    return spec.preprocess(), model


def backbone_blocks(model: keras.Model) -> list[str]:
    """Block names bottom to top (layers are named blockN_*)."""
    names = sorted({layer.name.split("_")[0] for layer in model.layers if layer.name.startswith("block")})
    return sorted(names, key=lambda n: int(n[len("block"):]))


def _spec(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        raise UserError(f"unknown backbone '{name}'; known: {', '.join(list_backbones())}")
    return BACKBONES[name]


def _with_weights(spec: BackboneSpec, name: str, size: int, weights: str) -> keras.Model:
    if weights == "none":
        return spec.build(size, None)
    if weights == "imagenet":
        if not spec.imagenet:
            raise UserError(f"backbone '{name}' has no imagenet weights; use weights none or a file path")
        try:
            return spec.build(size, "imagenet")
        except Exception as error:  # download failures come as several exception types
            raise UserError(
                f"could not get imagenet weights for '{name}' ({type(error).__name__}); "
                "on an offline machine give weights as a local file path"
            ) from None
    return _from_file(spec, name, size, Path(weights))


def _from_file(spec: BackboneSpec, name: str, size: int, path: Path) -> keras.Model:
    if not path.is_file():
        raise UserError(f"backbone weights file not found: {path}")
    model = spec.build(size, None)
    try:
        model.load_weights(str(path), skip_mismatch=False)
    except Exception as error:
        raise UserError(f"weights file {path} does not fit backbone '{name}': {error}") from None
    return model


def _freeze_below(model: keras.Model, trainable_blocks: int) -> None:
    blocks = backbone_blocks(model)
    if trainable_blocks < 0 or trainable_blocks > len(blocks):
        raise UserError(f"trainable_blocks must be 0..{len(blocks)} for this backbone, got {trainable_blocks}")
    trainable = set(blocks[len(blocks) - trainable_blocks:]) if trainable_blocks else set()
    model.trainable = bool(trainable)
    for layer in model.layers:
        layer.trainable = layer.name.split("_")[0] in trainable


def registered_backbones() -> list[str]:
    """The backbones this module builds (the designs catalog lists the same names)."""
    return sorted(BACKBONES)
