"""Memory benchmark (JAX, CPU here, GPU in bench/gpu_check.py): the batch-size bound's estimate of one
training step against XLA's own buffer assignment for it, on the default space's VGG16 at 224 px.

    KERAS_BACKEND=jax .venv/bin/python -m bench.memory      (python -m bench runs it)

Writes bench/results/memory.json and memory.md."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from search._design import Design  # noqa: E402
from search._memory import HEADROOM, measured_step_bytes, step_memory  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BATCHES = (16, 64)
CASES = {  # the default space's range at 224 px: frozen to two fine-tuned blocks, a feature-map fusion
    "VGG16 224 px frozen, concat": dict(fusion="concat", trainable_blocks=0),
    "VGG16 224 px 1 block, concat": dict(fusion="concat", trainable_blocks=1),
    "VGG16 224 px 2 blocks, FiLM on the feature map": dict(fusion="film", trainable_blocks=2,
                                                           film_target="feature_map"),
    "VGG16 224 px 2 blocks, image_only": dict(fusion="image_only", trainable_blocks=2),
}


def measure() -> dict:
    rows = {}
    for name, fields in CASES.items():
        design = Design(backbone="vgg16", weights="none", image_size=224, **fields)
        estimate = step_memory(design, n_numeric=8)
        rows[name] = {"per_sample_estimate": estimate.per_sample, "fixed_estimate": estimate.fixed}
        for batch in BATCHES:
            started = time.perf_counter()
            xla = measured_step_bytes(design, 8, batch)
            rows[name][str(batch)] = {"estimate": estimate.at(batch), "xla": xla, "ratio": estimate.at(batch) / xla,
                                      "compile_seconds": round(time.perf_counter() - started, 1)}
    ratios = [row[str(b)]["ratio"] for row in rows.values() for b in BATCHES]
    return {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                        "device": "CPU (XLA:CPU buffer assignment)"},
            "cases": rows, "ratio_min": min(ratios), "ratio_max": max(ratios)}


def table(result: dict) -> str:
    lines = [
        "# Memory estimate vs XLA",
        "",
        f"One training step (forward, backward, AdamW update) of the default space's designs, {result['machine']['date']},",
        f"{result['machine']['device']}. *estimate*: search/_memory.py's bound (what a trial is checked",
        "against); *XLA*: arguments + outputs - donated buffers + temporaries of the compiled step.",
        f"A trial runs only when its estimate is at most {HEADROOM:.0%} of the worker's memory.",
        "",
        "| design | batch | estimate (MiB) | XLA (MiB) | estimate / XLA |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in result["cases"].items():
        for batch in BATCHES:
            cell = row[str(batch)]
            lines.append(f"| {name} | {batch} | {cell['estimate'] / 2**20:,.0f} | {cell['xla'] / 2**20:,.0f} | "
                         f"{cell['ratio']:.2f} |")
    lines += ["", f"Ratio range {result['ratio_min']:.2f} to {result['ratio_max']:.2f}: the estimate stays above "
              "what XLA allocates, so the bound errs on the side of skipping, by at most that factor.", ""]
    return "\n".join(lines)


def main() -> None:
    result = measure()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "memory.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
