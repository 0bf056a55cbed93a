"""Batches read from the arrays as training and scoring need them: a Keras PyDataset over row numbers.

A fold is a set of row numbers into arrays of every row (the memory-mapped image cache, the cached
features, the preprocessed numbers). Copying a fold's images out of the cache (and Keras copying them again
into a tensor) costs memory that grows with the data; reading each batch's rows on demand (storage.read_rows:
file reads, so the cache's pages never stay mapped into the worker) keeps one batch in memory at a time,
on every backend.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from fusion_search.storage import read_rows


class RowBatches(keras.utils.PyDataset):
    """Batches of ``rows`` (row numbers into every array of ``inputs``): (inputs,) for predicting, (inputs, targets)
    or (inputs, targets, weights) for training.

    ``inputs``: input name -> array of every row. ``labels`` and ``weights``: arrays of every row as well.
    ``outputs``: the names of a multi-output model's outputs (each gets the labels), None for one output.
    ``seed``: None keeps the rows' order; else each epoch's order is a fresh permutation drawn from it."""

    def __init__(self, inputs: dict[str, np.ndarray], rows: np.ndarray, batch_size: int,
                 labels: np.ndarray | None = None, weights: np.ndarray | None = None,
                 outputs: list[str] | None = None, seed: int | None = None):
        super().__init__()  # read in the training loop's own thread: one batch in memory at a time
        self.inputs, self.labels, self.weights, self.outputs = inputs, labels, weights, outputs
        self.rows = np.asarray(rows, dtype=np.int64)
        self.batch_size, self.seed, self.epoch = int(batch_size), seed, 0
        self.order = self._order()

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int):
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = {name: read_rows(array, picked) for name, array in self.inputs.items()}
        if self.labels is None:
            return (x,)
        y = np.asarray(self.labels[picked], dtype="float32")
        y = {name: y for name in self.outputs} if self.outputs else y
        if self.weights is None:
            return x, y
        return x, y, np.asarray(self.weights[picked], dtype="float32")

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if self.seed is None:
            return self.rows
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.rows)
