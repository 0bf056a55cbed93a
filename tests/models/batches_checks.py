"""Training and scoring over RowBatches on the backend this process runs (run by test_batches.py in-process, and
on JAX in a process of its own through on_jax.run_on_jax)."""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np


def check_batches(folder: str) -> dict:
    """A small image + numbers model fit over batches read from a cache entry, then scored over batches: the
    scores equal those of predicting the same rows from arrays in memory."""
    os.environ["FUSION_SEARCH_CACHE"] = folder
    from fusion_search.models import RowBatches, backend_name, keras, predict_scores
    from fusion_search.storage import cached_rows

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (300, 8, 8, 3), dtype=np.uint8)
    entry = cached_rows(f"check-images-{backend_name()}", 300, lambda: (images[i:i + 64] for i in range(0, 300, 64)))
    numeric = rng.normal(size=(300, 2)).astype("float32")
    labels = (images[:, :, :, 0].mean(axis=(1, 2)) > 127).astype("float32")
    keras.utils.set_random_seed(0)
    image_in = keras.Input((8, 8, 3), dtype="uint8", name="image")
    numeric_in = keras.Input((2,), name="numeric")
    x = keras.layers.Concatenate()([keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(image_in)), numeric_in])
    model = keras.Model({"image": image_in, "numeric": numeric_in}, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    train, scored = np.arange(0, 200), np.arange(200, 300)[::-1]
    inputs = {"image": entry, "numeric": numeric}
    history = model.fit(RowBatches(inputs, train, 32, labels, np.ones(300, "float32"), seed=1), epochs=2,
                        shuffle=False, verbose=0)
    from_batches = predict_scores(model, RowBatches(inputs, scored, 32))
    from_arrays = predict_scores(model, {"image": images[scored], "numeric": numeric[scored]})
    return {"backend": backend_name(), "epochs": len(history.history["loss"]),
            "finite_loss": bool(np.all(np.isfinite(history.history["loss"]))),
            "max_difference": float(np.max(np.abs(from_batches - from_arrays))), "scored": len(from_batches)}


if __name__ == "__main__":
    with open(sys.argv[1], "w") as handle:
        json.dump(check_batches(tempfile.mkdtemp(prefix="batches-checks-")), handle)
