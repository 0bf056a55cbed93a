"""Which first try should the gbdt_only baseline make on small data? Candidate HistGradientBoosting settings on
bench/small_data.py's tables and folds, beside its logistic-regression anchor, and on a large table whose signal
is an interaction that only trees of more than one split can read.

    python -m bench.small_data_trees            # bench/results/small_data_trees.json and .md (about 3 minutes)
    python -m bench.small_data_trees --tiny     # the tests' check that it runs

Each candidate scores the mean fold AUC of the numbers (3 folds, 5 at 400 rows; the study's fold assignment for
--seed s), with no early stopping (100 iterations), as the product's trees train where the rows are too few for a
stopping slice. For every study a candidate scores below 0.5, the product's below-chance guard (one-sided
Mann-Whitney on the pooled out-of-fold scores) says whether that is beyond chance or the noise of so few rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench._results import RESULTS
from bench.small_data import GENERATORS, SIZES, dataset, folds_for
from fusion_search.data import assign_folds
from fusion_search.study._chance import below_chance_reason

CANDIDATES = {  # name: HistGradientBoostingClassifier settings (None: the logistic-regression anchor)
    "logistic regression (anchor)": None,
    "scikit-learn defaults (31 leaves, 20 a leaf, lr 0.1)": {},
    "stumps (2 leaves, 5 a leaf, lr 0.05, l2 1)": dict(max_leaf_nodes=2, min_samples_leaf=5, learning_rate=0.05,
                                                       l2_regularization=1.0),
    "4 leaves (5 a leaf, lr 0.05, l2 1)": dict(max_leaf_nodes=4, min_samples_leaf=5, learning_rate=0.05,
                                               l2_regularization=1.0),
    "4 leaves (10 a leaf, lr 0.05, l2 1)": dict(max_leaf_nodes=4, min_samples_leaf=10, learning_rate=0.05,
                                                l2_regularization=1.0),
}


def model(settings: dict | None, seed: int, large: bool = False):
    if settings is None:
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=5000))
    stopping = dict(early_stopping=True, max_iter=300, n_iter_no_change=15) if large else dict(
        early_stopping=False, max_iter=100)
    return HistGradientBoostingClassifier(random_state=seed, **settings, **stopping)


def table(generator: str, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The numbers and labels of bench/small_data.py's study (its own generator, rows and seed)."""
    with tempfile.TemporaryDirectory() as folder:
        manifest = dataset(Path(folder), generator, rows, seed)
        with manifest.open() as handle:
            records = list(csv.DictReader(handle))
    labels = np.array([int(r["label"]) for r in records])
    numbers = np.array([[float(r[c]) if r[c] else np.nan for c in ("measurement", "noise_a", "noise_b")]
                        for r in records])
    return numbers, labels


def small_studies(seeds: int, sizes: tuple[int, ...]) -> list[dict]:
    """Per generator, size and seed: each candidate's mean fold AUC, and the guard's verdict where it is < 0.5."""
    studies = []
    for generator in GENERATORS:
        for rows in sizes:
            for seed in range(seeds):
                numbers, labels = table(generator, rows, seed)
                folds = assign_folds(labels, folds_for(rows), seed)
                study = {"generator": generator, "rows": rows, "seed": seed, "auc": {}, "below_chance": {}}
                for name, settings in CANDIDATES.items():
                    oof, aucs = np.zeros(len(labels)), []
                    for fold in range(folds.max() + 1):
                        train, test = folds != fold, folds == fold
                        oof[test] = model(settings, seed).fit(numbers[train], labels[train]).predict_proba(
                            numbers[test])[:, 1]
                        aucs.append(roc_auc_score(labels[test], oof[test]))
                    study["auc"][name] = round(float(np.mean(aucs)), 4)
                    if study["auc"][name] < 0.5:
                        study["below_chance"][name] = below_chance_reason(labels, oof) is not None
                studies.append(study)
    return studies


def interaction(rows: int) -> dict[str, float]:
    """5-fold AUC of each candidate on a table whose label is sign(a) * sign(b) (plus a weak main effect)."""
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, rows))
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(2.5 * np.sign(a) * np.sign(b) + 0.5 * c)))).astype(int)
    numbers = np.column_stack([b + 0.2 * rng.normal(size=rows), a + 0.5 * rng.normal(size=rows), c,
                               rng.normal(size=rows)])
    out = {}
    for name, settings in CANDIDATES.items():
        aucs = []
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(numbers, labels):
            fitted = model(settings, 0, large=rows >= 1000).fit(numbers[train], labels[train])
            aucs.append(roc_auc_score(labels[test], fitted.predict_proba(numbers[test])[:, 1]))
        out[name] = round(float(np.mean(aucs)), 4)
    return out


def markdown(result: dict) -> str:
    names = list(CANDIDATES)
    lines = ["# The gbdt_only first try on small data (`python -m bench.small_data_trees`)", "",
             f"Mean fold AUC over seeds 0-{result['seeds'] - 1} on bench/small_data.py's tables and folds (the "
             "numbers only); (lowest study, studies below 0.5).", "",
             "| generator | rows | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for generator in GENERATORS:
        for rows in result["sizes"]:
            group = [s for s in result["studies"] if (s["generator"], s["rows"]) == (generator, rows)]
            cells = []
            for name in names:
                values = [s["auc"][name] for s in group]
                cells.append(f"{np.mean(values):.3f} ({min(values):.3f}, {sum(v < 0.5 for v in values)})")
            lines.append(f"| {generator} | {rows} | " + " | ".join(cells) + " |")
    every = result["studies"]
    lines.append("| **all** | | " + " | ".join(
        f"**{np.mean([s['auc'][n] for s in every]):.3f}** ({sum(s['auc'][n] < 0.5 for s in every)} below 0.5)"
        for n in names) + " |")
    for rows, aucs in result["interaction"].items():
        lines.append(f"| interaction sign(a)·sign(b) | {rows} | " + " | ".join(f"{aucs[n]:.3f}" for n in names) + " |")
    flagged = sum(flag for s in every for flag in s["below_chance"].values())
    below = sum(len(s["below_chance"]) for s in every)
    lines += ["", f"Of the {below} studies where a candidate scored below 0.5, the below-chance guard flags {flagged}: "
              "the rest is the noise of validation folds of 27 to 80 rows, not a training problem."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.small_data_trees")
    parser.add_argument("--seeds", type=int, default=10, help="studies per size and generator (%(default)s)")
    parser.add_argument("--tiny", action="store_true", help="one seed at 80 rows: only checks that it runs")
    args = parser.parse_args()
    seeds, sizes, large = (1, (80,), (400,)) if args.tiny else (args.seeds, SIZES, (400, 2000, 20000))
    result = {"seeds": seeds, "sizes": list(sizes), "studies": small_studies(seeds, sizes),
              "interaction": {str(rows): interaction(rows) for rows in large}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "small_data_trees.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "small_data_trees.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
