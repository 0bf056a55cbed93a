"""K >= 3 classes: are the baselines' first tries as strong as scikit-learn's, and what does a K-class trial cost?

    python -m bench.multiclass --seeds 3     # bench/results/multiclass.json and .md

1. Baselines against anchors. On make_multiclass_dataset tables (the image tells a class's pair, the numbers its
   parity) of 150 rows and 3 classes (a notebook) and 700 rows and 7 classes, 3 folds, each baseline's first try of
   a shipped space (its defaults; image_only on the space's default backbone and on the descriptors) is trained on
   the study's folds as the trainer trains it ("after"); image_only on the descriptors also with the descriptors
   fed unstandardised ("before": descriptor_statistics off), side by side in one process. Anchors on the same
   folds: logistic
   regression on the standardised pixels (image_only on pixels), on the standardised descriptors (image_only on
   descriptors), on the standardised numbers (numeric_only), and HistGradientBoostingClassifier on the numbers
   (gbdt_only). Target: every baseline's mean macro AUC >= its anchor's - 0.03.
2. Time of a K-class trial. The concat first try of the quick space on the 700 rows, 3 folds, with the 7-class label
   and with a two-class label of the same rows (odd class index: only the numbers tell it), alternating three times;
   the ratio of their fastest seconds for a trial as the search trains it (early stopping, the space's budget), and
   for 10 epochs a fold without early stopping (the cost of K outputs alone, both labels training as long).
   Target: <= 1.3x.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fusion_search.trainers._neural as neural
from bench._results import RESULTS
from fusion_search.data import ManifestSpec, fold_indices, make_multiclass_dataset, prepare_data
from fusion_search.designs import DESCRIPTORS, Design
from fusion_search.spaces import baseline_params, load_space
from fusion_search.trainers import fold_auc, fold_data, train_fold

SIZES = ((150, 3), (700, 7))
FOLDS, MARGIN, TIME_TARGET = 3, 0.03, 1.3
FIXED_EPOCHS = 10  # the time of K outputs alone: both labels train as many epochs
TIMING_REPEATS = 3  # each timing, alternating the labels; the fastest counts (a shared machine is noisy)
SPEC = ManifestSpec(label_column="diagnosis", ignore_columns=("site",))
ANCHOR_OF = {"image_only": "pixels_logistic", "image_only on descriptors": "descriptors_logistic",
             "numeric_only": "numbers_logistic", "gbdt_only": "numbers_trees"}


TINY_EPOCHS = 2  # --tiny: a check that the bench runs, its numbers mean nothing


def first_tries(space_name: str, tiny: bool = False) -> dict[str, Design]:
    """The space's baselines at its defaults (what every study trains first), image_only also on the descriptors."""
    space = load_space(space_name)
    designs = {p["fusion"]: shrunk(Design.from_params({**space.fixed, **p}), tiny) for p in baseline_params(space)}
    designs["image_only on descriptors"] = replace(designs["image_only"], backbone=DESCRIPTORS)
    return designs


def shrunk(design: Design, tiny: bool) -> Design:
    return replace(design, epochs=TINY_EPOCHS, patience=1) if tiny else design


def cross_validated(design: Design, data, standardised: bool = True) -> float:
    """Mean fold macro AUC of the design on the study's folds (standardised=False: the descriptors fed raw)."""
    return trained(design, data, standardised)[0]


def trained(design: Design, data, standardised: bool = True) -> tuple[float, int]:
    """(mean fold macro AUC, epochs kept over the folds) of the design on the study's folds; standardised=False
    feeds the descriptors as they are (the trainer before they were standardised)."""
    kept = neural.descriptor_statistics
    if not standardised:
        neural.descriptor_statistics = lambda features, rows: (None, None)
    try:
        arrays = fold_data(data, design)
        results = [train_fold(design, arrays, *fold_indices(data.folds, f), seed=f) for f in range(data.k)]
        return float(np.mean([r.auc for r in results])), int(sum(r.epochs for r in results))
    finally:
        neural.descriptor_statistics = kept


def anchors(data, descriptors: np.ndarray) -> dict[str, float]:
    """scikit-learn's first tries on the same folds."""
    labels = data.manifest.labels
    pixels = data.images(32).reshape(len(labels), -1).astype(np.float64)
    numbers = data.manifest.numeric
    models = {"pixels_logistic": (pixels, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
              "descriptors_logistic": (descriptors, lambda: make_pipeline(StandardScaler(),
                                                                         LogisticRegression(max_iter=3000))),
              "numbers_logistic": (numbers, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
              "numbers_trees": (numbers, lambda: HistGradientBoostingClassifier(random_state=0))}
    out = {}
    for name, (features, model) in models.items():
        aucs = []
        for fold in range(data.k):
            train, test = fold_indices(data.folds, fold)
            aucs.append(fold_auc(labels[test], model().fit(features[train], labels[train]).predict_proba(features[test])))
        out[name] = round(float(np.mean(aucs)), 4)
    return out


def baselines_against_anchors(space_name: str, rows: int, classes: int, seed: int, folder: Path,
                              tiny: bool = False) -> dict:
    manifest = make_multiclass_dataset(folder / f"{rows}-{classes}-{seed}", rows=rows, classes=classes,
                                       image_size=32, seed=seed)
    data = prepare_data(manifest, FOLDS, seed, spec=SPEC)
    designs = first_tries(space_name, tiny)
    descriptors = fold_data(data, designs["image_only on descriptors"]).image_features
    result = {"space": space_name, "rows": rows, "classes": classes, "seed": seed, "anchors": anchors(data, descriptors)}
    result["after"] = {label: round(cross_validated(design, data), 4) for label, design in designs.items()}
    raw = "image_only on descriptors"  # the one baseline the change touches
    result["before"] = {raw: round(cross_validated(designs[raw], data, standardised=False), 4)}
    print(json.dumps(result), flush=True)
    return result


def trial_seconds(rows: int, folder: Path, tiny: bool = False) -> dict:
    """Seconds of the quick space's concat first try on 3 folds, 7 classes against two, same rows (the fastest of
    TIMING_REPEATS, alternating)."""
    manifest = make_multiclass_dataset(folder / "timing", rows=rows, classes=7, image_size=32, seed=0)
    seven = prepare_data(manifest, FOLDS, 0, spec=SPEC)
    two = replace(seven, manifest=replace(seven.manifest, labels=(seven.manifest.labels % 2).astype(np.int8),
                                          classes=(), positive_class="1"))  # odd classes: only the numbers tell
    design = shrunk(Design.from_params({**load_space("quick").fixed, **baseline_params(load_space("quick"))[0],
                                        "fusion": "concat"}), tiny)
    out = {}
    fixed = replace(design, epochs=TINY_EPOCHS if tiny else FIXED_EPOCHS, patience=0)
    for trial, name in ((design, "a trial (early stopping, the space's budget)"),
                        (fixed, f"{fixed.epochs} epochs a fold, no early stopping")):
        seconds = {}
        for _ in range(1 if tiny else TIMING_REPEATS):  # alternating, the fastest of each: the least disturbed
            for label, data in (("7 classes", seven), ("2 classes", two)):
                started = time.perf_counter()
                auc, epochs = trained(trial, data)
                took = round(time.perf_counter() - started, 1)
                measured = (took, round(auc, 4), epochs)
                seconds[label] = min(seconds[label], measured) if label in seconds else measured
        out[name] = {**{k: {"seconds": s, "auc": a, "epochs_kept": e} for k, (s, a, e) in seconds.items()},
                     "ratio": round(seconds["7 classes"][0] / seconds["2 classes"][0], 2)}
        print(name, json.dumps(out[name]), flush=True)
    return out


def summarize(runs: list[dict]) -> list[dict]:
    """Per space, size and baseline: mean anchor, mean before and after, and whether after meets the target."""
    rows = []
    for space, size, classes in sorted({(r["space"], r["rows"], r["classes"]) for r in runs}):
        mine = [r for r in runs if (r["space"], r["rows"], r["classes"]) == (space, size, classes)]
        for baseline, anchor in ANCHOR_OF.items():
            before = [r["before"][baseline] for r in mine if baseline in r["before"]]
            after = np.mean([r["after"][baseline] for r in mine])
            reference = np.mean([r["anchors"][anchor] for r in mine])
            rows.append({"space": space, "rows": size, "classes": classes, "baseline": baseline, "anchor": anchor,
                         "anchor_auc": round(float(reference), 4),
                         "before": round(float(np.mean(before)), 4) if before else None,
                         "after": round(float(after), 4), "meets": bool(after >= reference - MARGIN),
                         "seeds": len(mine)})
    return rows


def markdown(result: dict) -> str:
    lines = ["# K classes: baselines against scikit-learn, and the cost of a K-class trial (`python -m bench.multiclass`)",
             "", f"{result['machine']}; {result['seeds']} seed(s) a size; {FOLDS} folds. After: as the trainer trains "
             "(the space's epochs and patience; descriptors standardised with the training rows' statistics); "
             "before: the descriptors fed unstandardised.", "",
             "| space | rows | classes | baseline | anchor | anchor AUC | before | after | after >= anchor - 0.03 |",
             "|---|---:|---:|---|---|---:|---:|---:|---|"]
    for row in result["baselines"]:
        before = "-" if row["before"] is None else f"{row['before']:.3f}"
        lines.append(f"| {row['space']} | {row['rows']} | {row['classes']} | {row['baseline']} | {row['anchor']} | "
                     f"{row['anchor_auc']:.3f} | {before} | {row['after']:.3f} | {'yes' if row['meets'] else 'no'} |")
    timing = result["timing"]
    lines += ["", f"**Time** (quick space's concat first try, {result['timing_rows']} rows, {FOLDS} folds; the two-class "
              f"label of the same rows: odd class index, which only the numbers tell; target <= {TIME_TARGET}x). "
              "Epochs kept: the best epochs, summed over the folds (early stopping trains patience epochs more).", "",
              "| training | 7 classes | 2 classes | ratio |", "|---|---:|---:|---:|"]
    for name, row in timing.items():
        seven, two = row["7 classes"], row["2 classes"]
        lines.append(f"| {name} | {seven['seconds']} s, {seven.get('epochs_kept', '?')} epochs kept (AUC "
                     f"{seven['auc']:.3f}) | {two['seconds']} s, {two.get('epochs_kept', '?')} epochs kept (AUC "
                     f"{two['auc']:.3f}) | {row['ratio']}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.multiclass")
    parser.add_argument("--seeds", type=int, default=3, help="tables a size (%(default)s)")
    parser.add_argument("--spaces", default="quick,balanced", help="shipped spaces whose first tries run (%(default)s)")
    parser.add_argument("--sizes", default=",".join(f"{r}x{k}" for r, k in SIZES),
                        help="rows x classes of the tables (%(default)s)")
    parser.add_argument("--timing-rows", type=int, default=700, help="rows of the timing table (%(default)s)")
    parser.add_argument("--tiny", action="store_true", help="one 45-row table, 2 epochs: check that it runs")
    parser.add_argument("--timing-only", action="store_true", help="measure the time of a trial, not the baselines")
    args = parser.parse_args()
    if args.tiny:
        args.seeds, args.spaces, args.sizes, args.timing_rows = 1, "quick", "45x3", 45
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "seeds": args.seeds,
              "baselines": [], "timing_rows": args.timing_rows, "timing": {},
              "runs": []}
    with tempfile.TemporaryDirectory() as scratch:  # the time first; saved after every part (a cut run keeps it)
        folder = Path(scratch)
        result["timing"] = trial_seconds(args.timing_rows, folder, args.tiny)
        if args.timing_only:
            earlier = RESULTS / "multiclass.json"  # keep the baselines a full run measured
            if earlier.is_file():
                result = {**json.loads(earlier.read_text()), "timing": result["timing"]}
            save(result)
            print(markdown(result))
            return
        save(result)
        for space in args.spaces.split(","):
            for rows, classes in sizes:
                for seed in range(args.seeds):
                    result["runs"].append(baselines_against_anchors(space, rows, classes, seed, folder, args.tiny))
                    result["baselines"] = summarize(result["runs"])
                    save(result)
    print(markdown(result))


def save(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "multiclass.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "multiclass.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
