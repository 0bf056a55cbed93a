"""Which setting should each fusion family start from? Candidate first tries trained on the same folds as the search
trains a trial (train_fold on every fold), on small data of two generators where fusion helps, ranked by mean AUC.
The order of the `quick` space's `first_tries` comes from this ranking (one entry per family, best first).

    python -m bench.first_tries                      # bench/results/first_tries.json and .md
    python -m bench.first_tries --sizes 150 --seeds 1 --candidates multiply_sig_lin,concat_relu_bn_head

Generators: `demo` (make demo's own, make_demo_dataset) and bench/power.py's `hue`; 150 rows (3 folds) and 400 rows
(5 folds), data seeds 100 and 101, fold seeds 0 and 1; every candidate is the quick space's defaults with the
candidate's values, on the image descriptors unless it names the small CNN.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._results import RESULTS
from bench.power import planted
from fusion_search.data import fold_indices, make_demo_dataset, prepare_data
from fusion_search.designs import Design
from fusion_search.spaces import load_space
from fusion_search.trainers import fold_data, train_fold

DESCRIPTORS = {"backbone": "descriptors"}
CANDIDATES = {  # name: (family, values over the quick space's defaults)
    "image_only_desc": ("baseline", {"fusion": "image_only"}),
    "multiply_sig_lin": ("multiply", {"fusion": "multiply", "multiply_image_activation": "sigmoid",
                                      "multiply_numeric_activation": "linear"}),
    "multiply_lin_lin": ("multiply", {"fusion": "multiply", "multiply_image_activation": "linear",
                                      "multiply_numeric_activation": "linear"}),
    "bilinear_r4": ("bilinear", {"fusion": "bilinear", "bilinear_rank": 4}),
    "bilinear_r2_lin": ("bilinear", {"fusion": "bilinear", "bilinear_rank": 2, "image_activation": "linear",
                                     "numeric_activation": "linear"}),
    "concat_relu_bn": ("concat", {"fusion": "concat", "image_activation": "relu", "image_norm": "batch",
                                  "numeric_activation": "relu", "numeric_norm": "batch"}),
    "concat_relu_bn_head": ("concat", {"fusion": "concat", "image_activation": "relu", "image_norm": "batch",
                                       "numeric_activation": "relu", "numeric_norm": "batch", "head_layers": 1}),
    "gbdt_on_embedding": ("gbdt_on_embedding", {"fusion": "gbdt_on_embedding"}),
    "late": ("late", {"fusion": "late"}),
    "stacked": ("stacked", {"fusion": "stacked"}),
    "add": ("add", {"fusion": "add"}),
    "gated": ("gated", {"fusion": "gated"}),
    "film": ("film", {"fusion": "film"}),
    "attention": ("attention", {"fusion": "attention"}),
    # the same families on the small CNN the image_only baseline starts from
    "cnn_image_only": ("baseline", {"fusion": "image_only", "backbone": "small_cnn"}),
    "cnn_multiply_sig_lin": ("multiply", {"fusion": "multiply", "multiply_image_activation": "sigmoid",
                                          "multiply_numeric_activation": "linear", "backbone": "small_cnn"}),
    "cnn_bilinear_r4": ("bilinear", {"fusion": "bilinear", "bilinear_rank": 4, "backbone": "small_cnn"}),
    "cnn_add": ("add", {"fusion": "add", "backbone": "small_cnn"}),
}
DEFAULT_CANDIDATES = ("image_only_desc", "multiply_sig_lin", "multiply_lin_lin", "bilinear_r4", "bilinear_r2_lin",
                      "concat_relu_bn", "concat_relu_bn_head", "gbdt_on_embedding", "late", "stacked", "add",
                      "cnn_image_only", "cnn_multiply_sig_lin", "cnn_bilinear_r4")
SIZES = {150: 3, 400: 5}  # rows: folds


def data_of(folder: Path, generator: str, rows: int, seed: int) -> Path:
    """`demo`: make demo's own generator (make_demo_dataset); `hue`: bench/power.py's."""
    if generator == "demo":
        return make_demo_dataset(folder, rows=rows, seed=seed)
    return planted(folder, generator, "real", rows, seed)


def mean_auc(data, design: Design) -> float:
    aucs = []
    for fold in range(data.k):
        train, validation = fold_indices(data.folds, fold)
        aucs.append(train_fold(design, fold_data(data, design), train, validation, seed=fold).auc)
    return statistics.fmean(aucs)


def measure(candidates: list[str], generators: list[str], sizes: list[int], seeds: int) -> dict:
    space = load_space("quick")
    defaults = dict(space.defaults)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("FUSION_SEARCH_CACHE", str(Path(folder) / "cache"))
        for generator in generators:
            for rows in sizes:
                for seed in range(seeds):
                    manifest = data_of(Path(folder) / f"{generator}-{rows}-{seed}", generator, rows, 100 + seed)
                    data = prepare_data(manifest, SIZES[rows], seed)
                    for name in candidates:
                        values = {**space.fixed, **defaults, **DESCRIPTORS, **CANDIDATES[name][1]}
                        design = Design.from_params(values)
                        started = time.perf_counter()
                        auc = mean_auc(data, design)
                        runs.append({"candidate": name, "family": CANDIDATES[name][0], "generator": generator,
                                     "rows": rows, "seed": seed, "mean_auc": round(auc, 4),
                                     "seconds": round(time.perf_counter() - started, 1)})
                        print(f"{generator:4} {rows:4} seed {seed}  {name:20} {auc:.3f}", flush=True)
    by_candidate = {name: round(float(np.mean([r["mean_auc"] for r in runs if r["candidate"] == name])), 4)
                    for name in candidates}
    return {"generators": generators, "sizes": sizes, "seeds": seeds, "mean_auc": by_candidate,
            "ranking": sorted(by_candidate, key=by_candidate.get, reverse=True), "runs": runs}


def markdown(result: dict) -> str:
    cells = sorted({(r["generator"], r["rows"]) for r in result["runs"]})
    lines = ["# First tries per fusion family (`python -m bench.first_tries`)", "",
             f"Mean k-fold AUC of each candidate first try (the quick space's defaults with its values, on the image "
             f"descriptors), {result['seeds']} seed(s) per cell; generators of bench/power.py where fusion helps. "
             "Best first; the quick space's `first_tries` takes the best candidate of each family in this order.", "",
             "| candidate | family | " + " | ".join(f"{g} {rows}" for g, rows in cells) + " | mean |",
             "|---|---|" + "---:|" * (len(cells) + 1)]
    for name in result["ranking"]:
        values = [[r["mean_auc"] for r in result["runs"] if r["candidate"] == name
                   and (r["generator"], r["rows"]) == cell] for cell in cells]
        lines.append(f"| {name} | {CANDIDATES[name][0]} | "
                     + " | ".join(f"{np.mean(v):.3f}" if v else "-" for v in values)
                     + f" | {result['mean_auc'][name]:.3f} |")
    lines += ["", "A cell holds the mean over its seeds; `-`: not measured; the last column is the mean over the cells "
              "a candidate was measured in."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_tries")
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES),
                        help=f"names among {', '.join(CANDIDATES)} (default %(default)s)")
    parser.add_argument("--generators", default="demo,hue")
    parser.add_argument("--sizes", default="150,400")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    result = measure(args.candidates.split(","), args.generators.split(","),
                     [int(s) for s in args.sizes.split(",")], args.seeds)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "first_tries.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "first_tries.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
