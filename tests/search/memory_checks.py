"""Estimated vs XLA-measured bytes of one training step, for designs that compile in seconds on a CPU.

Run as ``KERAS_BACKEND=jax python -m tests.search.memory_checks OUT.json`` (XLA's buffer assignment
is only reachable through JAX); tests/search/test_memory.py reads the JSON.
"""

from __future__ import annotations

import json
import sys

from search._design import Design
from search._memory import measured_step_bytes, step_memory

BATCHES = (8, 64)
CASES = {  # name -> design fields; small_cnn and VGG16, frozen and fine-tuned, feature-map fusions
    "small_cnn concat": dict(fusion="concat", backbone="small_cnn", image_size=32, trainable_blocks=3),
    "small_cnn attention map": dict(fusion="attention", backbone="small_cnn", image_size=32, trainable_blocks=3,
                                    attention_tokens="feature_map"),
    "small_cnn late aux": dict(fusion="late", backbone="small_cnn", image_size=32, trainable_blocks=3,
                               late_aux_weight=0.1),
    "vgg16 frozen concat": dict(fusion="concat", backbone="vgg16", image_size=32, trainable_blocks=0),
    "vgg16 2 blocks film map": dict(fusion="film", backbone="vgg16", image_size=32, trainable_blocks=2,
                                    film_target="feature_map"),
    "vgg16 fine-tuned image_only": dict(fusion="image_only", backbone="vgg16", image_size=48, trainable_blocks=5),
}


def main(out: str) -> None:
    results = {}
    for name, fields in CASES.items():
        design = Design(weights="none", **fields)
        estimate = step_memory(design, n_numeric=5)
        results[name] = {str(batch): {"estimate": estimate.at(batch),
                                      "xla": measured_step_bytes(design, 5, batch)} for batch in BATCHES}
    with open(out, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[1])
