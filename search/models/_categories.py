"""Categorical columns inside the numeric branch: each column's codes (0 = unknown, 1..V) one-hot encoded when it
has few levels, embedded in a learned table when it has many."""

from __future__ import annotations


import keras
from keras import layers, ops

ONE_HOT_LEVELS = 10  # "auto": one-hot up to this many codes per column, a learned embedding beyond


def embedding_dims(sizes: tuple[int, ...], encoding: str) -> tuple[int, ...]:
    """Per column, 0 for one-hot, else the width of its embedding (1.6 * levels^0.56, at most 16: the rule of
    thumb of fast.ai's tabular models)."""
    if encoding not in {"auto", "onehot", "embedding"}:
        raise ValueError(f"categorical_encoding must be auto, onehot or embedding, got {encoding!r}")
    dims = []
    for size in sizes:
        embed = encoding == "embedding" or (encoding == "auto" and size > ONE_HOT_LEVELS)
        dims.append(min(16, max(2, round(1.6 * size ** 0.56))) if embed else 0)
    return tuple(dims)


@keras.saving.register_keras_serializable(package="fusion_search")
class CategoricalEncoding(layers.Layer):
    """int codes (batch, c) -> the columns' one-hot vectors and embeddings, concatenated."""

    def __init__(self, sizes, dims, **kwargs):
        super().__init__(**kwargs)
        self.sizes, self.dims = [int(s) for s in sizes], [int(d) for d in dims]

    def build(self, input_shape):
        self.tables = [self.add_weight(shape=(size, dim), initializer="uniform", name=f"table{j}") if dim else None
                       for j, (size, dim) in enumerate(zip(self.sizes, self.dims))]

    def call(self, codes):
        codes = ops.cast(codes, "int32")
        parts = []
        for j, (size, table) in enumerate(zip(self.sizes, self.tables)):
            column = codes[:, j]
            parts.append(ops.take(table, column, axis=0) if table is not None
                         else ops.one_hot(column, size, dtype=self.compute_dtype))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(dim or size for size, dim in zip(self.sizes, self.dims)))

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes, "dims": self.dims}


def with_categories(numbers, categorical, sizes: tuple[int, ...], encoding: str):
    """The numeric branch's input: the numbers (if any) and the encoded categorical columns (if any)."""
    parts = [] if numbers is None else [numbers]
    if categorical is not None:
        parts.append(CategoricalEncoding(sizes, embedding_dims(sizes, encoding), name="numeric_categories")(categorical))
    return parts[0] if len(parts) == 1 else layers.Concatenate(name="numeric_with_categories")(parts)


