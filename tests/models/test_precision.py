"""Mixed precision: every fusion family trains under the bfloat16 policy a modern GPU gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json, numpy as np, keras
from fusion_search.designs import Design
from fusion_search.trainers import FoldData, train_fold
from fusion_search.designs import list_fusions
rng = np.random.default_rng(0)
images = rng.integers(0, 255, (60, 16, 16, 3), dtype=np.uint8)
numeric = rng.normal(size=(60, 3)).astype("float32")
labels = (numeric[:, 0] > 0).astype("int8")
out = {"policy": keras.mixed_precision.global_policy().name}
for fusion in list_fusions():
    design = Design(fusion=fusion, backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3, epochs=2,
                    patience=0, image_units=8, numeric_units=8, head_units=8, fusion_units=8)
    result = train_fold(design, FoldData(images, numeric, labels), np.arange(40), np.arange(40, 60), seed=0)
    out[fusion] = [bool(np.isfinite(result.scores).all()), keras.mixed_precision.global_policy().name]
print(json.dumps(out))
"""


def test_every_fusion_trains_to_finite_scores_under_mixed_bfloat16():
    env = {**os.environ, "FUSION_SEARCH_PRECISION": "mixed_bfloat16", "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    fusions = {k: v for k, v in out.items() if k != "policy"}
    assert len(fusions) >= 5
    assert all(finite and policy == "mixed_bfloat16" for finite, policy in fusions.values()), fusions
