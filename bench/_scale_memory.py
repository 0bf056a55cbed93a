"""Peak memory of one worker against the number of rows: does it stay flat as the data grows?

For each row count, a synthetic manifest (the demo generator's 64 px PNGs on disk; one set of images for
the largest count, each smaller manifest its first rows) and two fresh processes, one after the other, each
as a worker starting on the data:
- ``decode``: reads the manifest (its fingerprint) and decodes the images into an empty cache;
- ``train``: reads the manifest again and trains a fixed small design (concat, small_cnn from scratch on
  64 px images, 1 epoch, batch 64) on fold 0 of 2 through a real Keras fit over the cached images, then
  scores the other fold.
Each process's peak resident memory (its own ru_maxrss, read by the parent with wait4) is the measurement;
the OS page cache is not part of it. Target: the largest count's peak <= 1.25 x the smallest count's.

    .venv/bin/python -m bench._scale_memory [--rows 5000 20000 80000] [--before /path/to/old/checkout]

(--before: also measure an older checkout of the package, e.g. a git worktree of the commit before the
streaming data path; its ``search``, ``storage`` and ``spaces`` folders are imported instead of this one's.
--before-json: report a saved measurement of one instead, measure_memory's result plus its "commit".)
Writes bench/results/scale_memory.json and scale_memory.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._results import RESULTS

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.25  # largest count's peak / smallest count's peak
DESIGN = {"fusion": "concat", "backbone": "small_cnn", "weights": "none", "image_size": 64, "trainable_blocks": 3,
          "epochs": 1, "patience": 0, "batch_size": 64, "image_units": 16, "numeric_units": 16, "head_units": 16}
PHASES = ("decode", "train")
ENV_DATA = "FUSION_SEARCH_BENCH_DATA"  # where the synthetic images go (default: the system's temp folder)


def measure_memory(rows_list=(5000, 20000, 80000), size=64, *, package_root: Path | None = None) -> dict:
    """Peak RSS (MiB) of a worker decoding the cache, and of one training the design, per row count.
    package_root: a checkout whose package the workers import (default: the installed fusion_search)."""
    rows_list = sorted(int(rows) for rows in rows_list)
    full = demo_data(max(rows_list), size)
    measured = {}
    for rows in rows_list:
        manifest = prefix_manifest(full, rows)
        cache = Path(tempfile.mkdtemp(prefix=f"fusion-scale-cache-{rows}-"))
        try:
            measured[str(rows)] = {phase: run_worker(phase, manifest, size, cache, package_root) for phase in PHASES}
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        print(f"{rows} rows: " + ", ".join(f"{phase} {measured[str(rows)][phase]['peak_rss_mib']:.0f} MiB"
                                            for phase in PHASES), flush=True)
    smallest, largest = str(rows_list[0]), str(rows_list[-1])
    ratios = {phase: measured[largest][phase]["peak_rss_mib"] / measured[smallest][phase]["peak_rss_mib"]
              for phase in PHASES}
    return {"size": size, "design": {**DESIGN, "image_size": size, "folds": 2, "trained_folds": 1},
            "rows": measured, "ratio_largest_to_smallest": ratios, "target": TARGET,
            "meets_target": all(ratio <= TARGET for ratio in ratios.values())}


def memory_markdown(result: dict) -> list[str]:
    """The measurement as a markdown table (one row per row count) and its verdict."""
    lines = ["| rows | decode into cache: peak RSS | seconds | train 1 fold + score: peak RSS | seconds | fold AUC |",
             "|---:|---:|---:|---:|---:|---:|"]
    for rows, phases in result["rows"].items():
        decode, train = phases["decode"], phases["train"]
        lines.append(f"| {int(rows):,} | {decode['peak_rss_mib']:.0f} MiB | {decode['seconds']:.0f} "
                     f"| {train['peak_rss_mib']:.0f} MiB | {train['seconds']:.0f} | {train['auc']:.3f} |")
    counts = list(result["rows"])
    ratios = result["ratio_largest_to_smallest"]
    verdict = (f"Largest / smallest ({int(counts[-1]):,} / {int(counts[0]):,} rows): decode {ratios['decode']:.2f}x, "
               f"train {ratios['train']:.2f}x (target <= {result['target']}x: "
               f"{'met' if result['meets_target'] else 'NOT met'}).")
    lines += ["", verdict]
    return lines


def run_worker(phase: str, manifest: Path, size: int, cache: Path, package_root: Path | None = None) -> dict:
    """One fresh worker process doing the phase; its peak RSS from the kernel's own account (wait4)."""
    env = {**os.environ, **_importing_from(package_root), "FUSION_SEARCH_CACHE": str(cache),
           "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bench._scale_memory", "--child", phase, str(manifest), str(size)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{phase} worker on {manifest} exited with {child.returncode}")
    report = json.loads(output.strip().splitlines()[-1])
    return {**report, "peak_rss_mib": usage.ru_maxrss / 1024, "seconds": time.perf_counter() - started}


def child(phase: str, manifest: str, size: int) -> dict:
    """In the fresh process: what a worker starting on this data does (only APIs older versions have too)."""
    import fusion_search.models  # noqa: F401  (Keras and the backend, as every training worker loads them)
    from fusion_search.data import fold_indices, prepare_data
    from fusion_search.designs import Design
    from fusion_search.trainers import fold_data, train_fold

    data = prepare_data(manifest, k=2, fold_seed=0, image_sizes=(size,))
    if phase == "decode":
        return {"rows": data.manifest.rows}
    design = Design(**{**DESIGN, "image_size": size})
    result = train_fold(design, fold_data(data, design), *fold_indices(data.folds, 0), seed=0)
    return {"rows": data.manifest.rows, "auc": result.auc}


def demo_data(rows: int, size: int) -> Path:
    """The demo generator's manifest of at least ``rows`` rows at size px, made once and then reused."""
    base = Path(os.environ.get(ENV_DATA) or Path(tempfile.gettempdir()) / "fusion-search-bench-scale")
    for existing in sorted(base.glob(f"{size}px-*")):
        if (existing / "complete").is_file() and int(existing.name.split("-")[1]) >= rows:
            return existing / "manifest.csv"
    from fusion_search.data import make_demo_dataset

    folder = base / f"{size}px-{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating {rows} images of {size} px under {folder} ...", flush=True)
    manifest = make_demo_dataset(folder, rows=rows, image_size=size, seed=0)
    (folder / "complete").write_text("")
    return manifest


def prefix_manifest(full: Path, rows: int) -> Path:
    """A manifest of the first rows of full, beside it (same image folder)."""
    path = full.with_name(f"manifest-{rows}.csv")
    if not path.is_file():
        with full.open(newline="") as source, path.open("w", newline="") as target:
            reader, writer = csv.reader(source), csv.writer(target)
            writer.writerow(next(reader))
            for _, row in zip(range(rows), reader):
                writer.writerow(row)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._scale_memory")
    parser.add_argument("--rows", type=int, nargs="+", default=[5000, 20000, 80000])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--before", type=Path, help="an older checkout to measure too (its package folders)")
    parser.add_argument("--before-json", type=Path, help="a saved measurement of an older checkout, to report beside")
    parser.add_argument("--child", nargs=3, metavar=("PHASE", "MANIFEST", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] not in PHASES:
            parser.error(f"--child phase must be one of {PHASES}")
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return
    machine = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "date": time.strftime("%Y-%m-%d"),
               "backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    results = {"machine": machine}
    if args.before_json:
        results["before"] = json.loads(args.before_json.read_text())
    elif args.before:
        results["before"] = {"commit": _commit(args.before),
                             **measure_memory(args.rows, args.size, package_root=args.before)}
    results["after"] = {"commit": _commit(ROOT), **measure_memory(args.rows, args.size, package_root=ROOT)}
    write_results(results)


def write_results(results: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale_memory.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Peak memory of one worker against rows", "",
             f"{results['machine']['cpu_count']} CPUs, {results['machine']['platform']}, "
             f"{results['machine']['backend']}, {results['machine']['date']}. Design: "
             + ", ".join(f"{k}={v}" for k, v in results["after"]["design"].items())
             + ". Peak RSS of a fresh worker process (ru_maxrss via wait4; the OS page cache is not in it).", ""]
    if "before" in results:
        lines += ["| rows | decode peak before -> after | train peak before -> after |", "|---:|---:|---:|"]
        for rows, after in results["after"]["rows"].items():
            before = results["before"]["rows"].get(rows)
            if before:
                peaks = [f"{before[phase]['peak_rss_mib']:.0f} -> {after[phase]['peak_rss_mib']:.0f} MiB"
                         for phase in PHASES]
                lines.append(f"| {int(rows):,} | " + " | ".join(peaks) + " |")
        lines.append("")
    for name in ("before", "after"):
        if name in results:
            lines += [f"## {name} ({results[name]['commit']})", "", *memory_markdown(results[name]), ""]
    (RESULTS / "scale_memory.md").write_text("\n".join(lines))


def _importing_from(root: Path | None) -> dict[str, str]:
    """Environment under which a child imports fusion_search from root's package folders (a sitecustomize
    re-points the editable install); {} for the installed package."""
    if root is None:
        return {}
    root = Path(root).resolve()
    site = Path(tempfile.gettempdir()) / f"fusion-scale-site-{abs(hash(str(root)))}"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "try:\n"
        "    import __editable___fusion_search_0_1_0_finder as finder\n"
        "except ImportError:\n"
        "    finder = None\n"
        f"root = {str(root)!r}\n"
        "if finder is not None:\n"
        "    finder.MAPPING.update({'fusion_search': root + '/search', 'fusion_search.spaces': root + '/spaces',"
        " 'fusion_search.storage': root + '/storage'})\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
