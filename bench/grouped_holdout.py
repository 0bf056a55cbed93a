"""The held-out test's false claims where rows are grouped (several images per patient), on null data.

Each study holds out P patients with M rows each. A patient's latent z sets the odds of its label (all its rows
share it);
the two models read z equally well, each with its own patient-level error (one model's reading of a patient is off
for all of that patient's rows) and a small row-level error. Neither model is better, so every "fusion is better on
the held-out rows" at one-sided 5% is a false claim. The rate is measured for:

- DeLong's test, which counts the rows as independent (what the verdict used for two classes before);
- `holdout_test`, the function the verdict calls: with groups, the paired bootstrap that resamples whole groups.

    python -m bench.grouped_holdout               # bench/results/grouped_holdout.json and .md
    python -m bench.grouped_holdout --studies 20  # a quick look
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench._results import RESULTS
from fusion_search.results import delong_test
from fusion_search.results._confirmation import LEVEL, holdout_test

PATIENT_ERROR, ROW_ERROR = 1.0, 0.3


def null_study(patients: int, rows_each: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(labels, scores of model a, of model b, groups) of one held-out set on which neither model is better."""
    groups = np.repeat(np.arange(patients), rows_each)
    latent = rng.normal(size=patients)
    labels = (rng.random(patients) < 1 / (1 + np.exp(-2 * latent))).astype(int)[groups]  # one diagnosis each

    def reading() -> np.ndarray:
        return latent[groups] + PATIENT_ERROR * rng.normal(size=patients)[groups] + ROW_ERROR * rng.normal(
            size=patients * rows_each)

    return labels, reading(), reading(), groups.astype(str)


def claims(studies: int, patients: int, rows_each: int, seed: int) -> dict:
    """How often each test claims at one-sided 5% over `studies` null studies."""
    delong = grouped = 0
    for study in range(studies):
        labels, a, b, groups = null_study(patients, rows_each, np.random.default_rng([seed, study]))
        delong += _claimed(delong_test(labels, a, b))
        grouped += _claimed(holdout_test(labels, a, b, groups))
    return {"studies": studies, "patients": patients, "rows_per_patient": rows_each,
            "delong_rate": delong / studies, "holdout_test_rate": grouped / studies}


def _claimed(test) -> bool:
    return bool(np.isfinite(test.p_greater) and test.p_greater < LEVEL and test.difference > 0)


def write(result: dict, seconds: float) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {**result, "seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d")}
    (RESULTS / "grouped_holdout.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "grouped_holdout.md").write_text(
        "# Held-out test on grouped rows, null data\n\n"
        f"{result['studies']} null studies, each {result['patients']} held-out patients x "
        f"{result['rows_per_patient']} rows; patient-level error {PATIENT_ERROR}, row-level {ROW_ERROR} "
        "(`python -m bench.grouped_holdout`). Share of studies with a one-sided 5% claim that model a beats b, "
        "where neither is better:\n\n"
        "| test | false claims |\n|---|---:|\n"
        f"| DeLong (rows counted as independent; the verdict's test before) | {result['delong_rate']:.1%} |\n"
        f"| `holdout_test` (paired bootstrap over whole groups; the verdict's test now) | "
        f"{result['holdout_test_rate']:.1%} |\n\n"
        f"{result['seconds']} s on {result['date']}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grouped_holdout")
    parser.add_argument("--studies", type=int, default=200, help="null studies (%(default)s)")
    parser.add_argument("--patients", type=int, default=40, help="held-out patients per study (%(default)s)")
    parser.add_argument("--rows-each", type=int, default=5, help="rows per patient (%(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    result = claims(args.studies, args.patients, args.rows_each, args.seed)
    print(json.dumps(result), flush=True)
    write(result, time.perf_counter() - started)


if __name__ == "__main__":
    main()
