"""GPU check for a borrowed GPU machine (bench/gpu_check.sh runs it): VGG16 at 224x224, bf16, batch 128.

Measures images/s through the product's own trial path, side by side in one run:
- fine-tuned (trainable_blocks 5): trainers.train_fold on a fold of a synthetic dataset, its images read from the
  decoded-image cache by RowBatches (reading ahead), mixed precision and XLA as a trial gets them;
- frozen (trainable_blocks 0): the feature cache filled by the product's extraction (trainers' feature_chunks),
  then train_fold training the heads on the cached features;
- the same VGG16 step in a hand-written Keras fit over arrays in memory (what the data path may cost);
- a plain PyTorch reference (torchvision VGG16, channels-last, bf16 autocast, torch.compile).
Training images/s are timed from the end of the first epoch (compilation) to the end of the last (train_fold's
own epoch callback). Also checks the batch-size bound on the card (its estimate against the peak memory used).
Writes gpu.json to $OUT (or bench/results/) after every part, so a cut-off run still leaves what it measured.

    bash bench/gpu_check.sh                       # on the GPU machine
    python -m bench.gpu_check --dry-run           # here: every part at 32 px, batch 16, on the CPU (not saved)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

FULL = {"size": 224, "batch": 128, "rows": 2560, "epochs": 4, "steps": 30, "warmup": 5}
DRY = {"size": 32, "batch": 16, "rows": 120, "epochs": 2, "steps": 3, "warmup": 1}
STARTED = time.monotonic()


def train_fold_images_per_second(setup: dict, trainable_blocks: int, work: dict) -> dict:
    """One fold of the product's train_fold: training images/s over the epochs after the first."""
    from fusion_search.data import fold_indices
    from fusion_search.trainers import fold_data, train_fold

    design = _design(setup, trainable_blocks, work["weights"], epochs=setup["epochs"])
    fold = fold_data(work["data"], design)  # frozen: fills the feature cache first (timed apart, below)
    train, val = fold_indices(work["data"].folds, 0)
    ends: list[float] = []
    result = train_fold(design, fold, train, val, seed=0,
                        on_epoch=lambda epoch, total: ends.append(time.perf_counter()))
    seconds = ends[-1] - ends[0]
    return {"images_per_second": round(len(train) * (len(ends) - 1) / seconds, 1), "epochs_timed": len(ends) - 1,
            "train_rows": len(train), "auc": round(result.auc, 4), "reads_features": fold.image_features is not None,
            "device": result.device, "backend": result.backend}


def extraction_images_per_second(setup: dict, work: dict) -> dict:
    """The product's feature extraction (feature_chunks: RowBatches reading ahead, predict_on_batch), second pass."""
    from fusion_search.models import feature_extractor
    from fusion_search.trainers._features import feature_chunks

    images = work["data"].images(setup["size"])
    extractor = feature_extractor(_design(setup, 0, work["weights"]))
    sum(len(chunk) for chunk in feature_chunks(extractor, images))  # compiles
    started = time.perf_counter()
    rows = sum(len(chunk) for chunk in feature_chunks(extractor, images))
    return {"images_per_second": round(rows / (time.perf_counter() - started), 1), "rows": rows}


def keras_fit_images_per_second(setup: dict, work: dict) -> dict:
    """The same fine-tuned step in a hand-written fit over arrays in memory (no cache, no RowBatches)."""
    from fusion_search.models import build_model, configure_precision, make_optimizer

    configure_precision()
    design = _design(setup, 5, "none")
    model = build_model(design, n_numeric=work["data"].manifest.numeric.shape[1])
    model.compile(optimizer=make_optimizer(design, model), loss="binary_crossentropy", jit_compile=True)
    batch, size = setup["batch"], setup["size"]
    rng = np.random.default_rng(0)
    x = {"image": rng.integers(0, 255, (batch * 4, size, size, 3), dtype=np.uint8),
         "numeric": rng.normal(size=(batch * 4, work["data"].manifest.numeric.shape[1])).astype("float32")}
    x = {tensor.name: x[tensor.name] for tensor in model.inputs}
    labels = rng.integers(0, 2, batch * 4).astype("float32")
    model.fit(x, labels, batch_size=batch, epochs=1, verbose=0, steps_per_epoch=setup["warmup"])
    started = time.perf_counter()
    model.fit(x, labels, batch_size=batch, epochs=1, verbose=0, steps_per_epoch=setup["steps"])
    return {"images_per_second": round(batch * setup["steps"] / (time.perf_counter() - started), 1)}


def torch_compile_images_per_second(setup: dict, work: dict) -> dict | None:
    try:
        import torch
        import torchvision
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    batch, size = setup["batch"], setup["size"]
    model = torchvision.models.vgg16(num_classes=1).cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    step_model = torch.compile(model)
    x = torch.randn(batch, 3, size, size, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (batch, 1), device="cuda").float()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(step_model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(setup["warmup"]):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(setup["steps"]):
        step()
    torch.cuda.synchronize()
    return {"images_per_second": round(batch * setup["steps"] / (time.perf_counter() - started), 1)}


def memory_check(setup: dict, work: dict) -> dict:
    """The bound's estimate for the fine-tuned step, the worker's budget, and the peak the device reports."""
    from fusion_search.trainers._memory import memory_budget, step_memory

    need, budget = step_memory(_design(setup, 5, "none"), work["data"].manifest.numeric.shape[1]), memory_budget()
    return {"memory_estimate_bytes": need.at(setup["batch"]), "memory_budget_bytes": budget.bytes if budget else None,
            "largest_batch_estimate": need.largest_batch(budget.bytes) if budget else None,
            "peak_bytes_in_use": _peak_bytes_in_use()}


def _peak_bytes_in_use() -> int | None:
    try:
        import jax

        return (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")
    except Exception:  # another backend, or a device without memory stats
        return None


def _design(setup: dict, trainable_blocks: int, weights: str, epochs: int = 1):
    from fusion_search.designs import Design

    return Design(fusion="concat", backbone="vgg16", weights=weights, image_size=setup["size"],
                  trainable_blocks=trainable_blocks, batch_size=setup["batch"], epochs=epochs, patience=0)


def _workdir(setup: dict) -> dict:
    """A synthetic dataset decoded into the image cache, and a VGG16 weights file (a random init saved once: the
    feature cache needs fixed weights, and no ImageNet download is possible there)."""
    from fusion_search.data import make_demo_dataset, prepare_data
    from fusion_search.models import build_backbone, keras

    root = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    os.environ.setdefault("FUSION_SEARCH_CACHE", str(root / "cache"))
    data = prepare_data(make_demo_dataset(root / "data", rows=setup["rows"], seed=0), k=5, fold_seed=0,
                        image_sizes=(setup["size"],))
    keras.utils.set_random_seed(0)
    _, backbone = build_backbone("vgg16", setup["size"], "none", 0)
    weights = root / "vgg16.weights.h5"
    backbone.save_weights(weights)
    return {"data": data, "weights": str(weights)}


PARTS = {  # name -> measurement, in the order run (the reference first: it needs the GPU to itself)
    "torch_compile_reference": torch_compile_images_per_second,
    "train_fold_fine_tuned": lambda setup, work: train_fold_images_per_second(setup, 5, work),
    "feature_extraction": extraction_images_per_second,
    "train_fold_frozen_cached_features": lambda setup, work: train_fold_images_per_second(setup, 0, work),
    "keras_fit_in_memory": keras_fit_images_per_second,
    "memory": memory_check,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check")
    parser.add_argument("--dry-run", action="store_true", help="every part at 32 px, batch 16 (a CPU here); not saved")
    args = parser.parse_args()
    setup = DRY if args.dry_run else FULL
    out = Path(os.environ.get("OUT") or (tempfile.mkdtemp() if args.dry_run else Path(__file__).resolve().parent
                                         / "results"))
    out.mkdir(parents=True, exist_ok=True)
    from fusion_search.models import backend_name, configure_precision, device_name

    result = {"setup": setup, "backend": backend_name(), "device": device_name(), "precision": configure_precision(),
              "date": time.strftime("%Y-%m-%d"), "dry_run": args.dry_run}
    work = _workdir(setup)
    result["decode_seconds"] = round(time.monotonic() - STARTED, 1)
    for name, part in PARTS.items():
        started = time.monotonic()
        try:
            result[name] = part(setup, work)
        except Exception as error:  # one part failing must not lose the others' numbers
            result[name] = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()[-1500:]}
        result["seconds"] = {**result.get("seconds", {}), name: round(time.monotonic() - started, 1)}
        _ratios(result)
        (out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "setup"}, indent=2))
    print(f"wrote {out / 'gpu.json'}")


def _ratios(result: dict) -> None:
    reference = (result.get("torch_compile_reference") or {}).get("images_per_second")
    ours = (result.get("train_fold_fine_tuned") or {}).get("images_per_second")
    result["train_fold_vs_torch_compile"] = round(ours / reference, 3) if reference and ours else None


if __name__ == "__main__":
    main()
