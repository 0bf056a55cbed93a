"""Image augmentation by name: Keras random preprocessing layers that change images only while training
(``training=True``); prediction, evaluation and the feature extractor see the images as they are."""

from __future__ import annotations

from fusion_search._errors import UserError
from fusion_search.designs import AUGMENTATIONS
from fusion_search.models._runtime import keras

layers = keras.layers

ROTATION = 0.03  # of a full turn: up to about 11 degrees either way
JITTER = 0.1  # brightness shift and contrast change, as a fraction


def augment(images, augmentation: str):
    """uint8 or float images (0..255) -> float32 images, flipped / rotated / colour-jittered while training."""
    if augmentation not in AUGMENTATIONS:
        raise UserError(f"augmentation must be one of {list(AUGMENTATIONS)}, got {augmentation!r}")
    x = layers.Rescaling(1.0, name="image_augment_input")(images)  # to float32, unchanged
    if augmentation == "none":
        return x
    x = layers.RandomFlip("horizontal", name="image_augment_flip")(x)
    if augmentation == "flip_rotate_color":
        x = layers.RandomRotation(ROTATION, fill_mode="reflect", name="image_augment_rotate")(x)
        x = layers.RandomBrightness(JITTER, value_range=(0, 255), name="image_augment_brightness")(x)
        x = layers.RandomContrast(JITTER, value_range=(0, 255), name="image_augment_contrast")(x)
    return x
