"""Memory benchmark: the batch-size bound's per-sample estimate against the peak memory per sample that
training steps really take, on this machine's CPU backends (TensorFlow and JAX).

Each batch size of each case runs in a fresh process that builds the model, trains two epochs of two steps
and reads the peak of its anonymous resident memory meanwhile (Linux /proc/self/statm, resident - shared,
sampled every millisecond): the same work but for the batch. Anonymous memory, because the file-backed pages
of the framework's libraries (hundreds of MiB) are evicted and read back when the machine is short of memory,
which moved the peak resident set size (VmHWM) by more than a batch's activations in CI.
(peak at the large batch - peak at the small) / (large - small) is the memory one more row of a batch costs. (One process for both sizes does not work: allocators keep what the first size
freed.) The GPU check (bench/gpu_check.py) reads the GPU's own peak.

    .venv/bin/python -m bench.memory                 (python -m bench runs it)
    .venv/bin/python -m bench.memory --probe '{"fusion": "concat", ...}' 16   (one batch size, this backend)

Writes bench/results/memory.json and memory.md, and its two keys of summary.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._results import RESULTS

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax")
CASES = {  # name -> (design fields, small batch, large batch): frozen to fully fine-tuned, a feature-map fusion
    "VGG16 64 px frozen, concat": (dict(fusion="concat", backbone="vgg16", image_size=64, trainable_blocks=0), 16, 64),
    "VGG16 64 px 2 blocks, FiLM on the feature map": (
        dict(fusion="film", film_target="feature_map", backbone="vgg16", image_size=64, trainable_blocks=2), 16, 64),
    "VGG16 64 px 5 blocks, image_only": (
        dict(fusion="image_only", backbone="vgg16", image_size=64, trainable_blocks=5), 16, 64),
    "VGG16 96 px 2 blocks, concat": (dict(fusion="concat", backbone="vgg16", image_size=96, trainable_blocks=2), 16, 48),
    "small_cnn 32 px, concat": (dict(fusion="concat", backbone="small_cnn", image_size=32, trainable_blocks=3), 32, 96),
}


def probe(fields: dict, batch: int) -> dict:
    """In this process (fresh, KERAS_BACKEND set): the estimate, and the peak memory of training at this batch."""
    import numpy as np

    from fusion_search.designs import Design
    from fusion_search.trainers._memory import step_memory
    from fusion_search.trainers._neural import new_compiled_model

    design = Design(weights="none", **fields)
    model = new_compiled_model(design, 5, None)
    rng = np.random.default_rng(0)
    rows = 2 * batch
    given = {"image": rng.integers(0, 255, (rows, design.image_size, design.image_size, 3), dtype=np.uint8),
             "numeric": rng.normal(size=(rows, 5)).astype("float32")}
    x = {t.name: given[t.name] for t in model.inputs}
    labels = rng.integers(0, 2, rows).astype("float32")
    y = {name: labels for name in model.output} if isinstance(model.output, dict) else labels
    with AnonymousPeak() as peak:
        model.fit(x, y, batch_size=batch, epochs=2, verbose=0)
    return {"estimate_per_sample": step_memory(design, 5).per_sample, "peak": peak.bytes}


class AnonymousPeak:
    """The largest anonymous resident memory of this process while the block runs, sampled by a thread
    (the kernel keeps a peak only of the whole resident set, file-backed pages included)."""

    def __init__(self, every_s: float = 0.001):
        self.every_s, self.bytes = every_s, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "AnonymousPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self._read()

    def _sample(self) -> None:
        while not self._done.wait(self.every_s):
            self._read()

    def _read(self) -> None:
        resident, shared = (int(n) for n in Path("/proc/self/statm").read_text().split()[1:3])
        self.bytes = max(self.bytes, (resident - shared) * os.sysconf("SC_PAGE_SIZE"))


def measure(fields: dict, small: int, large: int, backend: str) -> dict:
    """The estimate per row and the measured peak memory per row, from one fresh process per batch size."""
    at = {batch: _probe_in_subprocess(fields, batch, backend) for batch in (small, large)}
    measured = (at[large]["peak"] - at[small]["peak"]) / (large - small)
    estimate = at[small]["estimate_per_sample"]
    return {"estimate_per_sample": estimate, "measured_per_sample": measured,
            "ratio": estimate / measured if measured > 0 else float("inf")}


def _probe_in_subprocess(fields: dict, batch: int, backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "bench.memory", "--probe", json.dumps(fields), str(batch)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise RuntimeError(f"memory probe failed on {backend}: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


TINY_CASE = {"VGG16 32 px frozen, concat (--tiny)": (
    dict(fusion="concat", backbone="vgg16", image_size=32, trainable_blocks=0), 4, 8)}


def measure_all(tiny: bool = False) -> dict:
    """Every case on every backend; ``tiny``: one small case on TensorFlow (checks that the benchmark runs)."""
    backends, chosen = (BACKENDS[:1], TINY_CASE) if tiny else (BACKENDS, CASES)
    cases = {name: {backend: measure(fields, small, large, backend) for backend in backends}
             for name, (fields, small, large) in chosen.items()}
    vgg = [r["ratio"] for name, by in cases.items() if name.startswith("VGG16") for r in by.values()]
    return {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d")},
            "cases": cases, "vgg16_ratio_min": min(vgg), "vgg16_ratio_max": max(vgg)}


def table(result: dict) -> str:
    lines = [
        "# Memory estimate vs measured",
        "",
        f"Per-sample memory of a training step, {result['machine']['date']}, {result['machine']['cpu_count']} CPU "
        "cores. *estimate*: search/_memory.py (a trial runs only when fixed + batch x this fits 90% of the",
        "worker's memory); *measured*: the growth of the process's peak memory from a small to a large",
        "batch, per extra row (bench/memory.py). Ratio = estimate / measured: above 1, the bound is safe.",
        "",
        "| design | backend | estimate (MiB/row) | measured (MiB/row) | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, by_backend in result["cases"].items():
        for backend, row in by_backend.items():
            lines.append(f"| {name} | {backend} | {row['estimate_per_sample'] / 2**20:.2f} | "
                         f"{row['measured_per_sample'] / 2**20:.2f} | {row['ratio']:.2f} |")
    every = [r["ratio"] for by in result["cases"].values() for r in by.values()]
    lines += ["", f"VGG16 ratios range from {result['vgg16_ratio_min']:.2f} to {result['vgg16_ratio_max']:.2f}, "
              f"all cases' from {min(every):.2f} to {max(every):.2f}"
              + (": the bound was above the measured memory every time." if min(every) >= 1 else
                 ": where a ratio is below 1 only the 10% headroom and the out-of-memory catch protect a trial."),
              "The GPU's own figures (cuDNN, XLA:GPU) are not measured here: bench/gpu_check.py records the",
              "GPU's peak for VGG16 at 224 px against the estimate when a GPU machine is lent.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--probe", nargs=2, metavar=("FIELDS", "BATCH"), help="one batch size of one case, here")
    parser.add_argument("--tiny", action="store_true", help="one small case on TensorFlow: checks that it runs")
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(json.loads(args.probe[0]), int(args.probe[1]))))
        return
    result = measure_all(args.tiny)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "memory.md").write_text(table(result))
    summary_path = RESULTS / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary.update(summary_keys(result))
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(result))


def summary_keys(result: dict) -> dict:
    """This benchmark's keys of summary.json: the range of estimate / measured over the VGG16 cases."""
    return {"memory_estimate_ratio_min": round(result["vgg16_ratio_min"], 2),
            "memory_estimate_ratio_max": round(result["vgg16_ratio_max"], 2)}


if __name__ == "__main__":
    main()
