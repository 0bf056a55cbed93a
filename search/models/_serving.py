"""Layers an exported model carries so that it takes raw manifest values."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="fusion_search")
class NumericPreprocess(layers.Layer):
    """Raw numeric columns -> missing values set to the training median -> standardised.

    Its config also names the columns, so ``predict`` knows what to read from a new manifest."""

    def __init__(self, columns, medians, means, stds, **kwargs):
        super().__init__(**kwargs)
        self.columns = [str(c) for c in columns]
        self.medians, self.means, self.stds = ([float(v) for v in values] for values in (medians, means, stds))

    def call(self, numbers):
        numbers = ops.cast(numbers, "float32")
        medians, means, stds = (ops.convert_to_tensor(v, dtype="float32") for v in (self.medians, self.means, self.stds))
        return (ops.where(ops.isnan(numbers), medians, numbers) - means) / stds

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "medians": self.medians, "means": self.means,
                "stds": self.stds}


@keras.saving.register_keras_serializable(package="fusion_search")
class CategoricalVocabulary(layers.Layer):
    """Passes the ``categorical`` input's codes through unchanged; its config carries, per column, the category ->
    code mapping learned on the training rows (any other value is 0, the unknown bucket). ``fusion-search
    predict`` reads it to turn a new table's strings into codes (strings cannot enter a model on every backend)."""

    def __init__(self, columns, codes, **kwargs):
        super().__init__(**kwargs)
        self.columns = [str(c) for c in columns]
        self.codes = [{str(k): int(v) for k, v in mapping.items()} for mapping in codes]

    def call(self, codes):
        return codes

    def encode(self, values) -> list[list[int]]:
        """Rows of strings -> rows of codes."""
        return [[mapping.get(str(value), 0) for value, mapping in zip(row, self.codes)] for row in values]

    def get_config(self):
        return {**super().get_config(), "columns": self.columns, "codes": self.codes}


@keras.saving.register_keras_serializable(package="fusion_search")
class ImageDescriptors(layers.Layer):
    """Passes the ``image_features`` input through unchanged; its config says they are the classical descriptors
    (fusion_search.data) of images at ``image_size``, so ``fusion-search predict`` computes them from the images."""

    def __init__(self, image_size, version, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.version = int(image_size), int(version)

    def call(self, features):
        return features

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "version": self.version}


def with_preprocessing(model: keras.Model, scaler, columns: tuple[str, ...], name: str, categories=None,
                       categorical_columns: tuple[str, ...] = (), descriptors: tuple[int, int] | None = None
                       ) -> keras.Model:
    """A trained model behind raw inputs: the fitted NumericScaler's numbers inside, the CategoryEncoder's
    vocabulary carried, descriptors (image size, version) marked, auxiliary outputs dropped."""
    inputs, fed = {}, {}
    for tensor in model.inputs:
        inputs[tensor.name] = keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)
        fed[tensor.name] = inputs[tensor.name]
    if "numeric" in inputs:
        fed["numeric"] = NumericPreprocess(columns, scaler.medians, scaler.means, scaler.stds,
                                           name="numeric_preprocess")(inputs["numeric"])
    if "categorical" in inputs:
        fed["categorical"] = CategoricalVocabulary(categorical_columns, categories.mappings(),
                                                   name="categorical_vocabulary")(inputs["categorical"])
    if descriptors is not None and "image_features" in inputs:
        fed["image_features"] = ImageDescriptors(*descriptors, name="image_descriptors")(inputs["image_features"])
    score = model(fed)
    if isinstance(score, dict):
        score = score["score"]
    return keras.Model(inputs, score, name=name)
