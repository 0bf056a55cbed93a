"""GPU check for a borrowed GPU machine (bench/gpu_check.sh runs it): VGG16 at 224x224, bf16, batch 128.

Measures training images/s of this service's trial training (our build_model + per-branch optimizer,
Keras on the machine's backend, XLA) against a plain PyTorch reference (torchvision VGG16, channels-last,
bf16 autocast, torch.compile) in the same run, then runs a 2-trial 3-fold search on synthetic images.
Writes gpu.json to $OUT (or bench/results/)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH, SIZE, STEPS, WARMUP = 128, 224, 30, 5


def keras_images_per_second() -> float:
    import keras

    from search import Design, build_model
    from search._model import make_optimizer
    from search._runtime import configure_precision

    configure_precision()
    design = Design(fusion="concat", backbone="vgg16", weights="none", image_size=SIZE, trainable_blocks=5,
                    batch_size=BATCH)
    model = build_model(design, n_numeric=8)
    model.compile(optimizer=make_optimizer(design), loss="binary_crossentropy", jit_compile=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (BATCH * 4, SIZE, SIZE, 3), dtype=np.uint8)
    numeric = rng.normal(size=(BATCH * 4, 8)).astype("float32")
    labels = rng.integers(0, 2, BATCH * 4).astype("float32")
    x = {"image": images, "numeric": numeric}
    model.fit(x, labels, batch_size=BATCH, epochs=1, verbose=0, steps_per_epoch=WARMUP)
    started = time.perf_counter()
    model.fit(x, labels, batch_size=BATCH, epochs=1, verbose=0, steps_per_epoch=STEPS)
    del keras
    return BATCH * STEPS / (time.perf_counter() - started)


def torch_compile_images_per_second() -> float:
    import torch
    import torchvision

    model = torchvision.models.vgg16(num_classes=1).cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    step_model = torch.compile(model)
    x = torch.randn(BATCH, 3, SIZE, SIZE, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (BATCH, 1), device="cuda").float()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(step_model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(STEPS):
        step()
    torch.cuda.synchronize()
    return BATCH * STEPS / (time.perf_counter() - started)


def tiny_search_finishes() -> bool:
    from search import ManifestSpec, make_demo_dataset, prepare_data
    from search._study import RunSettings, run_search
    from spaces import load_space

    root = Path(tempfile.mkdtemp())
    manifest = make_demo_dataset(root / "data", rows=120, seed=0)
    data = prepare_data(ManifestSpec(manifest), k=3, fold_seed=0)
    study = run_search(RunSettings(study="gpu", storage=f"sqlite:///{root / 'gpu.db'}", trials=2), data,
                       load_space("quick"))
    return len([t for t in study.trials if t.state.name == "COMPLETE"]) == 2


def main() -> None:
    out = Path(os.environ.get("OUT") or Path(__file__).resolve().parent / "results")
    result = {"batch": BATCH, "image_size": SIZE, "backend": os.environ.get("KERAS_BACKEND")}
    result["torch_compile_img_s"] = round(torch_compile_images_per_second(), 1)
    result["gpu_train_img_s"] = round(keras_images_per_second(), 1)
    result["ratio_vs_torch_compile"] = round(result["gpu_train_img_s"] / result["torch_compile_img_s"], 3)
    result["search_2_trials_3_folds_finished"] = tiny_search_finishes()
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["search_2_trials_3_folds_finished"] else 1)


if __name__ == "__main__":
    main()
