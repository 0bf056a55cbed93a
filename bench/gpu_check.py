"""GPU check for a borrowed GPU machine (bench/gpu_check.sh runs it): VGG16 at 224x224, bf16, batch 128.

Measures training images/s of this service's trial training (our build_model + per-branch optimizer,
Keras on the machine's backend, XLA) against a plain PyTorch reference (torchvision VGG16, channels-last,
bf16 autocast, torch.compile) in the same run, then runs a 2-trial 3-fold search on synthetic images.
Also checks the batch-size bound on the card: its estimate for that step, XLA's buffer assignment for it,
and the peak memory the training really used. Writes gpu.json to $OUT (or bench/results/).

GPU_CHECK_SIZE / GPU_CHECK_BATCH shrink it for a dry run on a CPU (the PyTorch reference is then skipped)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = int(os.environ.get("GPU_CHECK_BATCH", 128))
SIZE = int(os.environ.get("GPU_CHECK_SIZE", 224))
STEPS, WARMUP = (30, 5) if SIZE == 224 else (3, 1)


def _design():
    from fusion_search.designs import Design

    return Design(fusion="concat", backbone="vgg16", weights="none", image_size=SIZE, trainable_blocks=5,
                  batch_size=BATCH)


def memory_check() -> dict:
    """The bound's estimate for the measured step (compare peak_bytes_in_use) and the largest batch it allows here."""
    from fusion_search.trainers._memory import memory_budget, step_memory

    need, budget = step_memory(_design(), 8), memory_budget()
    return {"memory_estimate_bytes": need.at(BATCH), "memory_budget_bytes": budget.bytes if budget else None,
            "largest_batch_estimate": need.largest_batch(budget.bytes) if budget else None}


def peak_bytes_in_use() -> int | None:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")


def keras_images_per_second() -> float:
    import keras

    from fusion_search.models import build_model, configure_precision, make_optimizer

    configure_precision()
    design = _design()
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


def torch_compile_images_per_second() -> float | None:
    try:
        import torch
        import torchvision
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None

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
    from fusion_search.data import make_demo_dataset, prepare_data
    from fusion_search.spaces import load_space
    from fusion_search.study import RunSettings, run_search

    root = Path(tempfile.mkdtemp())
    manifest = make_demo_dataset(root / "data", rows=120, seed=0)
    data = prepare_data(manifest, k=3, fold_seed=0)
    study = run_search(RunSettings(study="gpu", storage=f"sqlite:///{root / 'gpu.db'}", trials=2), data,
                       load_space("quick"))
    return len([t for t in study.trials if t.state.name == "COMPLETE"]) == 2


def main() -> None:
    import jax

    dry_run = (SIZE, BATCH) != (224, 128)  # never into bench/results: its gpu.json is the real card's
    out = Path(os.environ.get("OUT") or (tempfile.mkdtemp() if dry_run else Path(__file__).resolve().parent / "results"))
    result = {"batch": BATCH, "image_size": SIZE, "backend": os.environ.get("KERAS_BACKEND"),
              "device": jax.devices()[0].device_kind, "date": time.strftime("%Y-%m-%d")}
    reference = torch_compile_images_per_second()
    result["torch_compile_img_s"] = round(reference, 1) if reference else None
    result["gpu_train_img_s"] = round(keras_images_per_second(), 1)
    result["peak_bytes_in_use"] = peak_bytes_in_use()
    result["ratio_vs_torch_compile"] = round(result["gpu_train_img_s"] / reference, 3) if reference else None
    result.update(memory_check())
    result["search_2_trials_3_folds_finished"] = tiny_search_finishes()
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["search_2_trials_3_folds_finished"] else 1)


if __name__ == "__main__":
    main()
