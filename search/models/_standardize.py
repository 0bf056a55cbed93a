"""Inputs standardised with statistics of a fold's training rows, carried inside the model (and its exports)."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="fusion_search")
class Standardize(layers.Layer):
    """(x - mean) / std along the last axis, the statistics learned on a fold's training rows and held as untrained
    weights. Written here rather than keras.layers.Normalization: that layer copies adapted statistics into
    constants when it is built, so a compiled model reused for the next fold would keep the first fold's."""

    def __init__(self, mean=(0.0,), std=(1.0,), **kwargs):
        super().__init__(**kwargs)
        self.initial_mean, self.initial_std = [float(m) for m in mean], [float(s) for s in std]

    def build(self, input_shape):
        width = (len(self.initial_mean),)
        self.mean = self.add_weight(shape=width, initializer=keras.initializers.Constant(self.initial_mean),
                                    trainable=False, name="mean")
        self.std = self.add_weight(shape=width, initializer=keras.initializers.Constant(self.initial_std),
                                   trainable=False, name="std")

    def call(self, values):
        values = ops.cast(values, self.compute_dtype)
        return (values - ops.cast(self.mean, self.compute_dtype)) / ops.cast(self.std, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "mean": self.initial_mean, "std": self.initial_std}
