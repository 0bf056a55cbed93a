"""Should a large study hold out rows by default? The verdict's power with and without a 20% held-out share.

The data is bench/verdict.py's generator: P(y=1) = sigmoid(2a + s(2b + ab)), a read from the image, b from a
numeric column; s = 1 is its "interaction" task, s = 0 its "null" (the numbers add nothing). The image is stood in
for by a noisy reading of a (a + N(0, 0.5)) and the models by logistic regressions (image: a; numbers: b and a noise
column; fusion: a, b, ab and the noise column), so thousands of verdicts run in minutes: this measures the tests,
not the search. Each verdict is decided as `fusion_search.results` decides it, with its own functions:

- none: 1 x 10 fresh folds of every row; "helped" when the corrected repeated k-fold t-test against the better
  baseline (chosen on those folds) gives one-sided p < 0.05 with a positive mean;
- holdout: 20% of the rows held out (stratified); the same test on 1 x 10 folds of the other 80%, AND the models
  trained on that 80% once and compared on the held-out rows by DeLong's test, one-sided p < 0.05.

    python -m bench.holdout_power            # bench/results/holdout_power.json and .md
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from fusion_search.results import corrected_ttest, delong_test

RESULTS = Path(__file__).parent / "results"
FOLDS, HOLDOUT, LEVEL = 10, 0.2, 0.05
MODELS = {"image": [0], "numbers": [1, 3], "fusion": [0, 1, 2, 3]}  # columns: a, b, ab, noise


def planted(rows: int, strength: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(2 * a + strength * (2 * b + a * b))))).astype(int)
    seen_a, seen_b = a + 0.5 * rng.normal(size=rows), b + 0.2 * rng.normal(size=rows)
    return np.column_stack([seen_a, seen_b, seen_a * seen_b, rng.normal(size=rows)]), labels


def scores(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
    return {name: LogisticRegression().fit(x[train][:, cols], y[train]).decision_function(x[test][:, cols])
            for name, cols in MODELS.items()}


def fresh_folds_p(x: np.ndarray, y: np.ndarray, rows: np.ndarray, seed: int) -> tuple[float, str]:
    """One-sided p of the corrected t-test, fusion against the better baseline on the fresh folds; that baseline."""
    aucs = {name: [] for name in MODELS}
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(rows, y[rows]):
        for name, s in scores(x, y, rows[train], rows[test]).items():
            aucs[name].append(roc_auc_score(y[rows[test]], s))
    reference = max(("image", "numbers"), key=lambda name: np.mean(aucs[name]))
    test = corrected_ttest(aucs["fusion"], aucs[reference], 1.0 / (FOLDS - 1))
    return (test.p_greater if test.mean > 0 else 1.0), reference


def verdicts(rows: int, strength: float, seed: int) -> dict[str, bool]:
    x, y = planted(rows, strength, np.random.default_rng([seed, rows, int(strength * 100)]))
    everything = np.arange(rows)
    p_all, _ = fresh_folds_p(x, y, everything, seed)
    kept, held = train_test_split(everything, test_size=HOLDOUT, stratify=y, random_state=seed)
    p_kept, reference = fresh_folds_p(x, y, kept, seed)
    held_scores = scores(x, y, kept, held)
    delong = delong_test(y[held], held_scores["fusion"], held_scores[reference])
    return {"none": p_all < LEVEL,
            "holdout": p_kept < LEVEL and np.isfinite(delong.p_greater) and delong.p_greater < LEVEL,
            "fresh_folds_of_80": p_kept < LEVEL}


def measure(sizes: list[int], strengths: list[float], seeds: int) -> list[dict]:
    out = []
    for strength in strengths:
        for rows in sizes:
            runs = [verdicts(rows, strength, seed) for seed in range(seeds)]
            out.append({"strength": strength, "rows": rows, "seeds": seeds,
                        **{policy: float(np.mean([r[policy] for r in runs])) for policy in runs[0]}})
            print(json.dumps(out[-1]), flush=True)
    return out


def markdown(rows: list[dict], seconds: float) -> str:
    lines = ["# Power of the verdict with and without held-out rows (bench/holdout_power.py)", "",
             f"Share of {rows[0]['seeds']} planted studies per cell where the verdict says \"fusion helped\" "
             f"(strength 0: every claim is false). {seconds:.0f} s wall-clock, one process on one core.", "",
             "| strength | rows | all rows, 1x10 fresh folds | 20% held out: fresh folds on 80% AND DeLong on 20% "
             "| fresh folds on 80% alone |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['strength']:g} | {r['rows']} | {r['none']:.2f} | {r['holdout']:.2f} | "
                     f"{r['fresh_folds_of_80']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--sizes", default="500,1000,2000,4000")
    parser.add_argument("--strengths", default="0,0.1,0.2")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = measure([int(v) for v in args.sizes.split(",")], [float(v) for v in args.strengths.split(",")], args.seeds)
    seconds = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "holdout_power.json").write_text(json.dumps({"seconds": seconds, "rows": rows}, indent=2) + "\n")
    (RESULTS / "holdout_power.md").write_text(markdown(rows, seconds))


if __name__ == "__main__":
    main()
