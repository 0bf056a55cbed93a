"""How should the confirmation spend its repeats? Power and false claims of five designs of the fresh-fold test.

The data is bench/holdout_power.py's generator: P(y=1) = sigmoid(2a + s(2b + ab)), a read from the image, b from a
numeric column; s > 0: fusion truly helps, s = 0: the numbers add nothing. The models are logistic regressions
(image: a; numbers: b and a noise column; fusion: a, b, ab and the noise column), so thousands of confirmations run
in minutes: this measures the test, not the search. A third task, "twin", tests the level exactly: the candidate
and the reference are two equally good models (the image column with one of two noise columns), so each claim is
false and a test at 5% should claim at most 5% of the time.

Every design scores the candidate and the better baseline (chosen on the first repeat's folds, as the verdict
chooses it) on R fresh partitions into 10 folds and applies `corrected_ttest`, one-sided:

- fixed1: R = 1 (the default for small studies today), p < 0.05;
- fixed3: R = 3, p < 0.05 (three times the cost, always);
- sequential: R = 1, then, unless the first look claims or its gain is not positive, 2 more repeats and a second
  look at R = 3; O'Brien-Fleming-type alpha spending (Lan & DeMets 1983) at the information fraction the corrected
  variance gives, 1/(1/(3k) + 1/(k-1)) against 1/(1/k + 1/(k-1)): `fusion_search.results.sequential_levels`, what
  the confirmation's two looks use;
- sequential12: the same with 1 more repeat instead of 2 (R = 1 then 2: what the confirmation plans where half the
  search's trainings pay for one more repeat only);
- fixed1_then3_naive: the same two looks, each at p < 0.05 (what not to do: shows the inflation spending prevents).

    python -m bench.confirmation_power                   # bench/results/confirmation_power.json and .md
    python -m bench.confirmation_power --seeds 50 --sizes 400
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from bench._results import RESULTS
from fusion_search.results import corrected_ttest, sequential_levels

FOLDS, MAX_REPEATS, LEVEL = 10, 3, 0.05
MODELS = {"image": [0], "numbers": [1, 3], "fusion": [0, 1, 2, 3],  # columns: a, b, ab, noise, noise 2
          "twin": [0, 4], "twin_reference": [0, 3]}  # the image with one of two noise columns: equally good
REFERENCES = {"image", "numbers"}


def planted(rows: int, strength: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(2 * a + strength * (2 * b + a * b))))).astype(int)
    seen_a, seen_b = a + 0.5 * rng.normal(size=rows), b + 0.2 * rng.normal(size=rows)
    return np.column_stack([seen_a, seen_b, seen_a * seen_b, rng.normal(size=rows), rng.normal(size=rows)]), labels


def fold_aucs(x: np.ndarray, y: np.ndarray, repeat: int, seed: int, names: list[str]) -> dict[str, list[float]]:
    aucs = {name: [] for name in names}
    splits = StratifiedKFold(FOLDS, shuffle=True, random_state=seed * 1000 + repeat)
    for train, test in splits.split(x, y):
        for name in names:
            cols = MODELS[name]
            model = LogisticRegression().fit(x[train][:, cols], y[train])
            aucs[name].append(roc_auc_score(y[test], model.decision_function(x[test][:, cols])))
    return aucs


def one_sided_p(candidate: list[float], reference: list[float]) -> tuple[float, float]:
    test = corrected_ttest(candidate, reference, 1.0 / (FOLDS - 1))
    return (test.p_greater if math.isfinite(test.p_greater) else 1.0), test.mean


def verdicts(rows: int, strength: float, task: str, seed: int, thresholds: tuple[float, float],
             thresholds12: tuple[float, float]) -> dict:
    x, y = planted(rows, strength, np.random.default_rng([seed, rows, int(strength * 100)]))
    candidate = "twin" if task == "twin" else "fusion"
    first = fold_aucs(x, y, 0, seed, [candidate, *(["twin_reference"] if task == "twin" else REFERENCES)])
    reference = "twin_reference" if task == "twin" else max(REFERENCES, key=lambda name: np.mean(first[name]))
    runs = [first] + [fold_aucs(x, y, r, seed, [candidate, reference]) for r in range(1, MAX_REPEATS)]
    pooled = {name: [a for run in runs for a in run[name]] for name in (candidate, reference)}
    p1, gain1 = one_sided_p(first[candidate], first[reference])
    p3, gain3 = one_sided_p(pooled[candidate], pooled[reference])
    two = {name: [a for run in runs[:2] for a in run[name]] for name in (candidate, reference)}
    p2, gain2 = one_sided_p(two[candidate], two[reference])
    continues = not (p1 < thresholds[0]) and gain1 > 0
    continues12 = not (p1 < thresholds12[0]) and gain1 > 0
    return {"fixed1": p1 < LEVEL and gain1 > 0, "fixed3": p3 < LEVEL and gain3 > 0,
            "sequential": (p1 < thresholds[0] and gain1 > 0) or (continues and p3 < thresholds[1] and gain3 > 0),
            "sequential12": ((p1 < thresholds12[0] and gain1 > 0)
                             or (continues12 and p2 < thresholds12[1] and gain2 > 0)),
            "fixed1_then3_naive": (p1 < LEVEL and gain1 > 0) or (gain1 > 0 and p3 < LEVEL and gain3 > 0),
            "sequential_repeats": MAX_REPEATS if continues else 1, "sequential12_repeats": 2 if continues12 else 1}


def measure(sizes: list[int], cells: list[tuple[str, float]], seeds: int) -> list[dict]:
    thresholds, thresholds12, out = sequential_levels(1, MAX_REPEATS, FOLDS), sequential_levels(1, 2, FOLDS), []
    for task, strength in cells:
        for rows in sizes:
            runs = [verdicts(rows, strength, task, seed, thresholds, thresholds12) for seed in range(seeds)]
            out.append({"task": task, "strength": strength, "rows": rows, "seeds": seeds,
                        **{key: float(np.mean([r[key] for r in runs])) for key in runs[0]}})
            print(json.dumps(out[-1]), flush=True)
    return out


def markdown(rows: list[dict], seconds: float) -> str:
    first, second = sequential_levels(1, MAX_REPEATS, FOLDS)
    first12, second12 = sequential_levels(1, 2, FOLDS)
    lines = ["# Confirmation designs: power and false claims (bench/confirmation_power.py)", "",
             f"Share of {rows[0]['seeds']} planted studies per cell with a claim at one-sided 5%. Tasks: "
             "`null` (s = 0, the numbers add nothing: every claim is false), `twin` (two equally good models: "
             "every claim is false, the level exactly), `real` (s > 0: fusion truly helps). Sequential thresholds: "
             f"first look p < {first:.4f} at R = 1, second look p < {second:.4f} at R = {MAX_REPEATS}; 1 then 2: "
             f"p < {first12:.4f}, then p < {second12:.4f} (`fusion_search.results.sequential_levels`, what the "
             f"confirmation uses). {seconds:.0f} s wall-clock, one process.", "",
             "| task | s | rows | fixed R=1 | fixed R=3 | sequential 1 then 3 | mean R | sequential 1 then 2 | mean R "
             "| naive two looks at 5% |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['strength']:g} | {r['rows']} | {r['fixed1']:.3f} | {r['fixed3']:.3f} | "
                     f"{r['sequential']:.3f} | {r['sequential_repeats']:.2f} | {r['sequential12']:.3f} | "
                     f"{r['sequential12_repeats']:.2f} | {r['fixed1_then3_naive']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.confirmation_power")
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--sizes", default="150,400,1000")
    parser.add_argument("--cells", default="twin:0,null:0,real:0.3,real:0.6",
                        help="task:strength pairs (%(default)s)")
    args = parser.parse_args()
    cells = [(task, float(strength)) for task, strength in (c.split(":") for c in args.cells.split(","))]
    start = time.perf_counter()
    rows = measure([int(v) for v in args.sizes.split(",")], cells, args.seeds)
    seconds = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "confirmation_power.json").write_text(json.dumps({"seconds": seconds, "rows": rows}, indent=2) + "\n")
    (RESULTS / "confirmation_power.md").write_text(markdown(rows, seconds))


if __name__ == "__main__":
    main()
