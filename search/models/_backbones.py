"""Image backbones by name: keras.applications models (VGG16, ResNet50, EfficientNetB0, MobileNetV3Small,
ConvNeXtTiny) and two small CNNs for CPUs and tests.

A backbone's *blocks*, for ``trainable_blocks``, are the groups its layer names mark (VGG16's five blockN, ResNet50's
convN stages, EfficientNetB0's stem, block1..7 and top, ...); a layer whose name marks none (an activation Keras
named itself) belongs to the block of the layer before it. ``trainable_blocks: k`` fine-tunes the top k blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
from keras import layers, ops

from fusion_search._errors import UserError
from fusion_search.designs import list_backbones
from fusion_search.models._standardize import Standardize


@keras.saving.register_keras_serializable(package="fusion_search")
class CaffePreprocess(layers.Layer):
    """VGG's own input preprocessing ('caffe' mode): RGB -> BGR, minus the ImageNet channel means."""

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=self.compute_dtype)


@keras.saving.register_keras_serializable(package="fusion_search")
class PixelStandardize(Standardize):
    """(pixel - mean) / std per channel, the statistics learned on a fold's training rows, for backbones trained
    from scratch (without statistics: pixel / 255)."""

    def __init__(self, mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0), **kwargs):
        super().__init__(mean, std, **kwargs)


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone and preprocess its input."""

    build: Callable[[int, str | None], keras.Model]  # (image size, keras weights arg) -> feature-map model
    preprocess: Callable[[], layers.Layer]
    imagenet: bool  # whether weights="imagenet" exists for it (pretrained backbones keep their own preprocessing)
    blocks: str = r"^(block\d+)_"  # a regex whose group 1, matched on a layer's name, names its block


def _application(constructor: Callable, **options) -> Callable[[int, str | None], keras.Model]:
    def build(size: int, weights: str | None) -> keras.Model:
        return constructor(include_top=False, weights=weights, input_shape=(size, size, 3), name="backbone",
                           **options)

    return build


def _small_cnn(filters: tuple[int, ...], convs: int = 1) -> Callable[[int, str | None], keras.Model]:
    """A plain CNN trained from scratch: per block, convs 3x3 convolutions (ReLU) and a 2x2 max pool."""

    def build(size: int, weights: str | None) -> keras.Model:
        del weights
        inputs = keras.Input((size, size, 3))
        x = inputs
        for block, width in enumerate(filters, start=1):
            for conv in range(1, convs + 1):
                x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}")(x)
            x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
        return keras.Model(inputs, x, name="backbone")

    return build


def _as_float() -> layers.Layer:
    """For backbones that preprocess 0..255 pixels themselves (EfficientNet, MobileNetV3, ConvNeXt)."""
    return layers.Rescaling(1.0, name="image_to_float")


BACKBONES: dict[str, BackboneSpec] = {
    "vgg16": BackboneSpec(_application(keras.applications.VGG16), CaffePreprocess, imagenet=True),
    "resnet50": BackboneSpec(_application(keras.applications.ResNet50), CaffePreprocess, imagenet=True,
                             blocks=r"^(conv\d)_"),
    "efficientnetb0": BackboneSpec(_application(keras.applications.EfficientNetB0), _as_float, imagenet=True,
                                   blocks=r"^(stem|block\d|top)"),
    "mobilenetv3small": BackboneSpec(_application(keras.applications.MobileNetV3Small, include_preprocessing=True),
                                     _as_float, imagenet=True, blocks=r"^(expanded_conv(?:_\d+)?|conv(?:_\d+)?)(?:_|$)"),
    "convnexttiny": BackboneSpec(_application(keras.applications.ConvNeXtTiny, include_preprocessing=True),
                                 _as_float, imagenet=True, blocks=r"^backbone_(stem|stage_\d|downsampling_block_\d)"),
    # trained from scratch: standardised pixels (build_backbone's pixel_stats, the training rows' statistics)
    "small_cnn": BackboneSpec(_small_cnn((16, 32, 64)), PixelStandardize, imagenet=False),
    "small_cnn_deep": BackboneSpec(_small_cnn((16, 32, 64, 96, 128), convs=2), PixelStandardize, imagenet=False),
}


def build_backbone(name: str, size: int, weights: str, trainable_blocks: int,
                   pixel_stats: tuple | None = None) -> tuple[layers.Layer, keras.Model]:
    """(input preprocessing layer, feature-map model with only its top `trainable_blocks` blocks trainable).
    pixel_stats ((mean, std) per channel of the training rows) standardise the input of a backbone trained from
    scratch (without them: pixels / 255); a pretrained backbone keeps its own preprocessing (small CNN weights
    from a file: pixels / 255)."""
    spec = _spec(name)
    model = _with_weights(spec, name, size, weights)
    _freeze_below(model, trainable_blocks, spec.blocks)
    if spec.preprocess is PixelStandardize:  # weights from a file keep the 0..1 scaling they were trained on
        return PixelStandardize(*(pixel_stats if standardises_pixels(name, weights) and pixel_stats else ()),
                                name="pixel_standardize"), model
    return spec.preprocess(), model


def standardises_pixels(name: str, weights: str) -> bool:
    """Whether the backbone is trained from scratch (weights none) on standardised pixels (build_backbone's
    pixel_stats). Pretrained weights, ImageNet's or a file's, keep the preprocessing they were trained with."""
    return name in BACKBONES and BACKBONES[name].preprocess is PixelStandardize and weights == "none"


def backbone_blocks(model: keras.Model, pattern: str = BackboneSpec.blocks) -> list[list[layers.Layer]]:
    """The backbone's blocks bottom to top, each a list of layers; layers before the first named block (input
    scaling) belong to the first block."""
    blocks: dict[str, list[layers.Layer]] = {}
    leading: list[layers.Layer] = []
    current = None
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        named = re.match(pattern, layer.name)
        current = named.group(1) if named else current
        if current is None:
            leading.append(layer)
        elif current not in blocks:
            blocks[current], leading = [*leading, layer], []
        else:
            blocks[current].append(layer)
    return list(blocks.values()) or [leading]


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
                "on an offline machine give weights as a local file path, or put Keras's weights files in "
                "$KERAS_HOME/models (README: Weights offline)"
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


def _freeze_below(model: keras.Model, trainable_blocks: int, pattern: str) -> None:
    blocks = backbone_blocks(model, pattern)
    if trainable_blocks < 0 or trainable_blocks > len(blocks):
        raise UserError(f"trainable_blocks must be 0..{len(blocks)} for this backbone, got {trainable_blocks}")
    trainable = {id(layer) for block in blocks[len(blocks) - trainable_blocks:] for layer in block}
    model.trainable = bool(trainable)
    for layer in model.layers:
        layer.trainable = id(layer) in trainable


def registered_backbones() -> list[str]:
    """The backbones this module builds (the designs catalog lists the same names)."""
    return sorted(BACKBONES)
