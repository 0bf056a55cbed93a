"""Input-pipeline benchmark: can reading the cache keep an H200 busy? (not a test)

A simulated device takes a fixed time per batch of 128 images at 224 px, set to the H200's rates (VGG16 training
3,700-5,100 images/s, feature extraction 14,000-15,000 images/s; the figures behind the default space), and the
product's own reading code feeds it from a cache entry on disk (storage.read_rows):

- training: RowBatches over shuffled rows, iterated as Keras iterates a PyDataset on JAX (batch i asked for in the
  training loop's thread, then the step); before: read_ahead=0, the synchronous path;
- extraction: trainers' feature_chunks (RowBatches over every row, extractor.predict_on_batch per batch) with an
  extractor that sleeps; before: the former loop (1,024-row chunks read whole, then extracted).

Each case runs in a process of its own on Keras-on-JAX (the GPU machine's backend), so its peak RSS (VmHWM) is its
own. Sleeping releases the GIL as a device
step does. Steps/s sustained against the device's own rate, side by side in one run:

    .venv/bin/python -m bench.input_pipeline [--rows 3072] [--epochs 2] [--tiny]

Writes bench/results/input_pipeline.json and input_pipeline.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._results import RESULTS

ROOT = Path(__file__).resolve().parents[1]
BATCH, SIZE = 128, 224
DEVICE = {"training": (3_700, 5_100), "extraction": (14_000, 15_000)}  # H200 images/s, slow and fast end
TARGET = {"training": 0.95, "extraction": 0.90}
CASES = [(kind, rate, version) for kind, rates in DEVICE.items() for rate in rates for version in ("before", "after")]


def run_case(kind: str, rate: int, version: str, rows: int, epochs: int, size: int, cache: str) -> dict:
    """In this process: feed the simulated device for ``epochs`` passes over ``rows`` rows; steps/s and peak RSS."""
    os.environ["FUSION_SEARCH_CACHE"] = cache
    images = _cache_entry(rows, size)
    import fusion_search.trainers._features  # noqa: F401  (Keras imported before the clock starts)

    step_seconds = BATCH / rate
    started = time.perf_counter()
    steps = (_training if kind == "training" else _extraction)(images, step_seconds, version, epochs)
    seconds = time.perf_counter() - started
    return {"kind": kind, "device_images_per_second": rate, "version": version, "steps": steps,
            "steps_per_second": steps / seconds, "device_steps_per_second": 1 / step_seconds,
            "ratio": steps * step_seconds / seconds, "peak_rss_mib": _peak_rss() / 2**20,
            "read_cpu_ms_per_batch": _read_cpu_ms(images, shuffled=kind == "training"), "load_average_1min":
            round(os.getloadavg()[0], 2)}


def _read_cpu_ms(images, shuffled: bool, batches: int = 8) -> float:
    """CPU time (this thread's, so other jobs on the machine do not count) one batch's read takes: with a free core
    for the reader, the pipeline sustains the device's rate while this stays below the device's step time."""
    import numpy as np

    from fusion_search.storage import read_rows

    order = np.random.default_rng(1).permutation(len(images)) if shuffled else np.arange(len(images))
    started = time.thread_time()
    count = 0
    for start in range(0, min(len(order), batches * BATCH), BATCH):
        read_rows(images, order[start:start + BATCH])
        count += 1
    return round(1000 * (time.thread_time() - started) / count, 2)


def _cache_entry(rows: int, size: int):
    """A cache entry of random 224 px images, as decoding leaves it (written once; every case reads the same)."""
    import numpy as np

    from fusion_search.storage import cached_rows

    def chunks():
        rng = np.random.default_rng(0)
        for start in range(0, rows, 256):
            yield rng.integers(0, 255, (min(256, rows - start), size, size, 3), dtype=np.uint8)

    return cached_rows(f"input-pipeline-{rows}-{size}", rows, chunks)


def _training(images, step_seconds: float, version: str, epochs: int) -> int:
    import numpy as np

    from fusion_search.models import RowBatches

    rows = len(images)
    inputs = {"image": images, "numeric": np.zeros((rows, 8), np.float32)}
    batches = RowBatches(inputs, np.arange(rows), BATCH, np.zeros(rows), seed=0,
                         read_ahead=0 if version == "before" else 3)
    steps = 0
    for _ in range(epochs):
        for index in range(len(batches)):  # as Keras's numpy/JAX iterator: ask for batch i, then run the step
            batches[index]
            time.sleep(step_seconds)
            steps += 1
        batches.on_epoch_end()
    return steps


class _SleepingExtractor:
    """Stands in for the feature extractor: one batch takes the device's time."""

    def __init__(self, step_seconds: float):
        self.step_seconds, self.steps = step_seconds, 0

    def predict_on_batch(self, x):
        import numpy as np

        time.sleep(self.step_seconds)
        self.steps += 1
        return np.zeros((len(x), 1, 1, 1), np.float32)


def _extraction(images, step_seconds: float, version: str, epochs: int) -> int:
    from fusion_search.data import row_chunks
    from fusion_search.trainers._features import EXTRACT_ROWS, feature_chunks

    extractor = _SleepingExtractor(step_seconds)
    for _ in range(epochs):
        if version == "after":
            for _chunk in feature_chunks(extractor, images):
                pass
            continue
        for chunk in row_chunks(images, EXTRACT_ROWS):  # the loop before: a chunk read whole, then extracted
            for start in range(0, len(chunk), BATCH):
                extractor.predict_on_batch(chunk[start:start + BATCH])
    return extractor.steps


def _peak_rss() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024


def _in_subprocess(case: tuple, rows: int, epochs: int, size: int, cache: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}  # as on the GPU
    run = subprocess.run([sys.executable, "-m", "bench.input_pipeline", "--case", json.dumps(
        [*case, rows, epochs, size, cache])], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise RuntimeError(f"case {case} failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(rows: int, epochs: int, size: int) -> dict:
    cache = tempfile.mkdtemp(prefix="fusion-bench-pipeline-")
    load_before = os.getloadavg()[0]
    chosen = CASES if size == SIZE else [case for case in CASES if case[1] == max(DEVICE[case[0]])]
    cases = [_in_subprocess(case, rows, epochs, size, cache) for case in chosen]
    return {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
            "rows": rows, "epochs": epochs, "image_size": size, "batch": BATCH, "cases": cases,
            "targets": TARGET}


def markdown(result: dict) -> str:
    load = result["machine"]["load_average_1min"]
    lines = [
        "# Input pipeline: does reading keep the device busy?", "",
        f"{result['machine']['date']}, {result['machine']['cpu_count']} CPU cores (1-minute load average {load[0]} at "
        f"the start, {load[1]} at the end: other jobs shared the cores). A simulated device takes a fixed time per "
        f"batch of {result['batch']} images at {result['image_size']} px (the H200 rates below); the product's "
        f"reading code feeds it from a cache entry of {result['rows']} rows on disk, {result['epochs']} passes "
        "(bench/input_pipeline.py). *before*: each batch read in the step's own thread (training), or 1,024-row "
        "chunks read whole and then extracted (extraction); *after*: RowBatches reading 3 batches ahead.", "",
        "| part | device rate (img/s) | version | steps/s sustained | device steps/s | ratio | target "
        "| peak RSS (MiB) | device ms/step | read CPU ms/batch | load |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in result["cases"]:
        lines.append(f"| {case['kind']} | {case['device_images_per_second']:,} | {case['version']} | "
                     f"{case['steps_per_second']:.1f} | {case['device_steps_per_second']:.1f} | {case['ratio']:.2f} | "
                     f"{result['targets'][case['kind']]:.2f} | {case['peak_rss_mib']:.0f} | "
                     f"{1000 / case['device_steps_per_second']:.1f} | {case['read_cpu_ms_per_batch']} | "
                     f"{case['load_average_1min']} |")
    lines += ["", "*read CPU ms/batch*: the reading thread's own CPU time per batch (other jobs do not count in it). "
              "Reading ahead hides it behind the step whenever the reader gets a core while the step runs: the "
              "sustained rate then reaches the device's as long as it stays below *device ms/step*; *load*: the "
              "1-minute load average when the case ended (on 2 cores, above 2 the reader waits for a core)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.input_pipeline")
    parser.add_argument("--rows", type=int, default=3072, help="rows of the cache entry (%(default)s)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the rows per case (%(default)s)")
    parser.add_argument("--tiny", action="store_true", help="a tiny run at 32 px, fast rates only: checks that it runs")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # one case, in this process (JSON)
    args = parser.parse_args()
    if args.case:
        kind, rate, version, rows, epochs, size, cache = json.loads(args.case)
        print(json.dumps(run_case(kind, rate, version, rows, epochs, size, cache)))
        return
    rows, epochs, size = (300, 1, 32) if args.tiny else (args.rows, args.epochs, SIZE)
    result = measure(rows, epochs, size)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "input_pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "input_pipeline.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
