"""Batches read from the arrays as training and scoring need them: a Keras PyDataset over row numbers, read ahead.

A fold is a set of row numbers into arrays of every row (the memory-mapped image cache, the cached
features, the preprocessed numbers). Copying a fold's images out of the cache (and Keras copying them again
into a tensor) costs memory that grows with the data; reading each batch's rows on demand (storage.read_rows:
file reads, so the cache's pages never stay mapped into the worker) keeps a few batches in memory at a time,
on every backend.

Reading overlaps compute: while the step runs on batch n, a reader thread (data.prefetched) reads batches n+1 to
n+READ_AHEAD of the same epoch's order, so a device never waits for the cache. Keras's own PyDataset workers stay
off: this works the same on every backend, keeps the batches' order, and keeps Ctrl-C a KeyboardInterrupt.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Iterator

import keras
import numpy as np

from fusion_search.data import prefetched
from fusion_search.storage import read_rows

READ_AHEAD = 3  # batches read ahead of the step: at most this many + 1 (being read) + the step's own are held


@dataclass(frozen=True)
class _Reader:
    """What a batch is read from; holds no reference to the RowBatches, so a dropped one stops its reader."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None
    weights: np.ndarray | None
    outputs: list[str] | None
    batch_size: int

    def batch(self, order: np.ndarray, index: int):
        picked = order[index * self.batch_size:(index + 1) * self.batch_size]
        x = {name: read_rows(array, picked) for name, array in self.inputs.items()}
        if self.labels is None:
            return (x,)
        y = np.asarray(self.labels[picked], dtype="float32")
        y = {name: y for name in self.outputs} if self.outputs else y
        if self.weights is None:
            return x, y
        return x, y, np.asarray(self.weights[picked], dtype="float32")

    def batches(self, order: np.ndarray, start: int, stop: int) -> Iterator:
        return (self.batch(order, index) for index in range(start, stop))


class RowBatches(keras.utils.PyDataset):
    """Batches of ``rows`` (row numbers into every array of ``inputs``): (inputs,) for predicting, (inputs, targets)
    or (inputs, targets, weights) for training.

    ``inputs``: input name -> array of every row. ``labels`` and ``weights``: arrays of every row as well.
    ``outputs``: the names of a multi-output model's outputs (each gets the labels), None for one output.
    ``seed``: None keeps the rows' order; else each epoch's order is a fresh permutation drawn from it.
    ``read_ahead``: batches read ahead while the caller uses the current one (0: each read when asked for).
    A batch's contents depend only on its index and the epoch, never on reading ahead."""

    def __init__(self, inputs: dict[str, np.ndarray], rows: np.ndarray, batch_size: int,
                 labels: np.ndarray | None = None, weights: np.ndarray | None = None,
                 outputs: list[str] | None = None, seed: int | None = None, read_ahead: int = READ_AHEAD):
        super().__init__()  # Keras's workers off: the read-ahead below keeps the order on every backend
        self.reader = _Reader(inputs, labels, weights, outputs, int(batch_size))
        self.inputs, self.labels, self.weights, self.outputs = inputs, labels, weights, outputs
        self.rows = np.asarray(rows, dtype=np.int64)
        self.batch_size, self.seed, self.epoch, self.read_ahead = int(batch_size), seed, 0, int(read_ahead)
        self.order = self._order()
        self._lock = threading.Lock()  # TensorFlow may ask from a tf.data thread while an older iterator still reads
        self._stream: tuple[np.ndarray, int, Iterator] | None = None  # (order, next index, batches read ahead)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        if self.read_ahead <= 0:
            return self.reader.batch(self.order, index)
        with self._lock:
            order, position, stream = self._stream or (None, -1, None)
            if order is not self.order or position != index:  # out of sequence (or a new epoch): read from here
                self._close()
                order, stream = self.order, prefetched(self.reader.batches(self.order, index, len(self)),
                                                       self.read_ahead)
            self._stream = None
            batch = next(stream)  # an error of the reader (or Ctrl-C while waiting) ends this stream, raised here
            if index + 1 < len(self):
                self._stream = (order, index + 1, stream)
            else:
                stream.close()
            return batch

    def on_epoch_end(self) -> None:
        with self._lock:
            self._close()
            self.epoch += 1
            self.order = self._order()

    def close(self) -> None:
        """Stop reading ahead (the reader thread ends at its next batch)."""
        with self._lock:
            self._close()

    def __del__(self):
        stream = getattr(self, "_stream", None)
        if stream is not None:
            stream[2].close()

    def _close(self) -> None:
        if self._stream is not None:
            self._stream[2].close()
            self._stream = None

    def _order(self) -> np.ndarray:
        if self.seed is None:
            return self.rows
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.rows)
