"""`python -m bench` (make bench): measure, then write bench/results/*.json, summary.json and results.md."""

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

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import fusion_search.models  # noqa: E402,F401  (backend settings, TensorFlow loaded quietly)
from bench._experiments import Workdir, feature_cache, pruning, search_vs_naive  # noqa: E402
from bench._results import RESULTS  # noqa: E402
from bench.memory import summary_keys  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--trials", type=int, default=8, help="trials of the naive-vs-service searches (%(default)s)")
    parser.add_argument("--prune-trials", type=int, default=24, help="trials of the pruning searches (%(default)s)")
    parser.add_argument("--rows", type=int, default=400, help="demo rows (%(default)s)")
    parser.add_argument("--image-size", type=int, default=32, help="VGG16 input size (%(default)s)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per fold (%(default)s)")
    parser.add_argument("--cache-image-size", type=int, default=64,
                        help="image size of the feature-cache measurement (%(default)s)")
    parser.add_argument("--tiny", action="store_true",
                        help="every part at a tiny size, to check that it runs (tests/bench); numbers mean nothing")
    parser.add_argument("--only", choices=["pruning"],
                        help="re-run one part alone; the other parts' recorded results are kept in results.md")
    args = parser.parse_args()
    if args.only:
        _only(args)
        return
    if args.tiny:
        args.trials, args.prune_trials, args.rows, args.epochs, args.cache_image_size = 4, 5, 60, 1, 32
    os.environ.setdefault("FUSION_SEARCH_CACHE", tempfile.mkdtemp(prefix="fusion-bench-cache-"))
    work = Workdir(rows=args.rows, image_size=args.image_size, epochs=args.epochs)
    machine = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "date": time.strftime("%Y-%m-%d"),
               "rows": args.rows, "image_size": args.image_size, "epochs": args.epochs, "trials": args.trials,
               "prune_trials": args.prune_trials, "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    results = {"machine": machine}
    repeats = 1 if args.tiny else 3
    results["feature_cache"] = _write("feature_cache", feature_cache(work, args.cache_image_size, repeats), machine)
    small = feature_cache(work, args.image_size, repeats) if args.image_size != args.cache_image_size else (
        results["feature_cache"])
    results["feature_cache_search_size"] = _write("feature_cache_search_size", small, machine)
    results["search_vs_naive"] = _write("search_vs_naive", search_vs_naive(work, args.trials), machine)
    results["pruning"] = _write("pruning", pruning(work, args.prune_trials), machine)
    summary = {
        "search_speedup_vs_naive": round(results["search_vs_naive"]["speedup"], 2),
        "search_best_auc": round(results["search_vs_naive"]["service"]["best_auc"], 4),
        "naive_best_auc": round(results["search_vs_naive"]["naive"]["best_auc"], 4),
        "feature_cache_speedup": round(results["feature_cache"]["speedup"], 2),
        "pruning_saved_fraction": round(results["pruning"]["saved_fraction"], 3),
        "pruned_best_auc": round(results["pruning"]["with_pruning"]["best_auc"], 4),
        "unpruned_best_auc": round(results["pruning"]["without_pruning"]["best_auc"], 4),
        "pruning_saved_fraction_fusion_trials": round(results["pruning"]["saved_fraction_fusion_trials"], 3),
        **_memory_ratios(args.tiny),
    }
    machine["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "results.md").write_text(_table(summary, results))
    print(json.dumps(summary, indent=2))


def _only(args: argparse.Namespace) -> None:
    """Re-run the pruning comparison alone (same sizes as a whole run), and rewrite summary.json and results.md with
    it beside the other parts' recorded results; results.md says when the part was re-run."""
    os.environ.setdefault("FUSION_SEARCH_CACHE", tempfile.mkdtemp(prefix="fusion-bench-cache-"))
    recorded = {name: json.loads((RESULTS / f"{name}.json").read_text())
                for name in ("feature_cache", "feature_cache_search_size", "search_vs_naive")}
    machine = dict(recorded["search_vs_naive"]["machine"])
    machine.setdefault("load_average_1min_at_end", "(not recorded)")  # written after the parts' own files
    work = Workdir(rows=args.rows, image_size=args.image_size, epochs=args.epochs)
    rerun = {"date": time.strftime("%Y-%m-%d"), "load_average_1min_at_start": round(os.getloadavg()[0], 2)}
    prune = pruning(work, args.prune_trials)
    rerun["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    results = {"machine": machine, **recorded,
               "pruning": _write("pruning", prune, {**machine, "prune_trials": args.prune_trials, "rerun": rerun})}
    summary = json.loads((RESULTS / "summary.json").read_text())
    summary.update({"pruning_saved_fraction": round(prune["saved_fraction"], 3),
                    "pruned_best_auc": round(prune["with_pruning"]["best_auc"], 4),
                    "unpruned_best_auc": round(prune["without_pruning"]["best_auc"], 4),
                    "pruning_saved_fraction_fusion_trials": round(prune["saved_fraction_fusion_trials"], 3)})
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "results.md").write_text(_table(summary, results) + f"\nThe pruning rows were re-run alone "
                                        f"(`python -m bench --only pruning`) on {rerun['date']}, load average "
                                        f"{rerun['load_average_1min_at_start']} at its start and "
                                        f"{rerun['load_average_1min_at_end']} at its end.\n")
    print(json.dumps(summary, indent=2))


def _memory_ratios(tiny: bool) -> dict:
    """Run bench.memory (one process per case and backend) and read the range of estimate / measured for VGG16."""
    subprocess.run([sys.executable, "-m", "bench.memory", *(["--tiny"] if tiny else [])], check=True,
                   cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    return summary_keys(json.loads((RESULTS / "memory.json").read_text()))


def _write(name: str, result: dict, machine: dict) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine, **result}, indent=2) + "\n")
    return result


def _table(summary: dict, results: dict) -> str:
    naive, service = results["search_vs_naive"]["naive"], results["search_vs_naive"]["service"]
    cache, prune = results["feature_cache"], results["pruning"]
    small = results["feature_cache_search_size"]
    return f"""# Fast-trials benchmark

Measured side by side in one run on {results['machine']['cpu_count']} CPU cores, {results['machine']['date']}.
Data: the demo generator ({results['machine']['rows']} rows; {results['machine']['trials']} trials per search in the
naive-vs-service comparison, {prune['trials']} in the pruning comparison; 5 folds,
{results['machine']['epochs']} epochs). Space: frozen VGG16 at {results['machine']['image_size']} px with a
local weights file (bench/_experiments.py), heads, widths, activations and learning rates searched.

| measurement | naive / without | service / with | ratio |
| --- | --- | --- | --- |
| whole search wall time (s) | {naive['seconds']:.1f} | {service['seconds']:.1f} | {summary['search_speedup_vs_naive']:.1f}x faster |
| whole search best mean AUC | {naive['best_auc']:.4f} | {service['best_auc']:.4f} | {service['best_auc'] - naive['best_auc']:+.4f} |
| frozen-backbone trial time (s), feature cache, VGG16 at {cache['image_size']} px | {cache['without_cache']['trial_seconds']:.2f} | {cache['with_cache']['trial_seconds']:.2f} | {summary['feature_cache_speedup']:.1f}x faster (same fold AUCs to 3 dp: {cache['same_aucs_3dp']}) |
| frozen-backbone trial time (s), feature cache, VGG16 at {small['image_size']} px | {small['without_cache']['trial_seconds']:.2f} | {small['with_cache']['trial_seconds']:.2f} | {small['speedup']:.1f}x faster (same fold AUCs to 3 dp: {small['same_aucs_3dp']}) |
{_pruning_rows(prune)}

The feature-cache target is read at {cache['image_size']} px (summary.json's feature_cache_speedup); at the searches' {small['image_size']} px
the backbone is a smaller share of a trial, so the cache saves less. The cache's one-off build took
{cache['cache_build_seconds']:.1f} s at {cache['image_size']} px (paid once per data, backbone, weights and image size, then shared by
every trial and local worker). Both searches and the pruning comparison ran at the default pruning
threshold p={prune['default_p']}. Single-modality designs are never pruned (enqueued or drawn by TPE: at p=
{prune['default_p']}, {prune['with_pruning']['baseline_trials']} of the {prune['trials']} trials, of which
{prune['with_pruning']['baseline_enqueued_trials']} enqueued), so the pruning rows give what pruning saved over all
trials and over the fusion designs, the only ones it may stop.
Machine load (1-minute load average): {results['machine']['load_average_1min_at_start']} at the start,
{results['machine']['load_average_1min_at_end']} at the end.

The batch-size bound's memory estimate against the memory training steps really take: [memory.md](memory.md)
(written by bench/memory.py, which `make bench` runs too).
"""


def _pruning_rows(prune: dict) -> str:
    off = prune["without_pruning"]
    rows = []
    for threshold, run in prune["by_threshold"].items():
        rows.append(f"| fold trainings, pruning p={threshold} | {off['fold_trainings']} | {run['fold_trainings']} | "
                    f"{100 * run['saved_fraction']:.0f}% saved ({run['pruned_trials']} trials pruned) |")
        rows.append(f"| fold trainings of the fusion designs (the prunable ones), p={threshold} | "
                    f"{5 * run['fusion_trials']} if unpruned | {run['fusion_fold_trainings']} | "
                    f"{100 * run['saved_fraction_fusion_trials']:.0f}% saved ({run['fusion_pruned']} of "
                    f"{run['fusion_trials']} pruned) |")
        rows.append(f"| best mean AUC, pruning p={threshold} | {off['best_auc']:.4f} | {run['best_auc']:.4f} | "
                    f"{run['best_auc'] - off['best_auc']:+.4f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
