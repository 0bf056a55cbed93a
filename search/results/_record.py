"""The export record: a trial, its design and scores, the study's baselines, the data and the versions."""

from __future__ import annotations

import json
import statistics
from importlib import metadata
from typing import Any

import optuna
import yaml

from fusion_search.results._verdict import compare
from fusion_search.study import baselines, chosen_trial, trial_counts, trial_design


def export_record(study: optuna.Study, trial_number: int | None = None) -> dict[str, Any]:
    """The best (or a chosen) complete trial with everything needed to read and reuse it."""
    trial = chosen_trial(study, trial_number)
    attrs, study_attrs = trial.user_attrs, study.user_attrs
    fold_aucs = attrs.get("fold_aucs", [])
    return {
        "study": study.study_name,
        "trial": trial.number,
        "fusion": attrs.get("fusion"),
        "mean_auc": round(trial.value, 6),
        "std_auc": attrs.get("std_auc", round(statistics.pstdev(fold_aucs), 6) if fold_aucs else None),
        "fold_aucs": fold_aucs,
        "oof_auc": attrs.get("oof_auc"),
        "epochs": attrs.get("epochs"),
        "params": trial.params,
        "design": trial_design(study, trial).to_params(),
        "baselines": baselines(study),
        "tuned_trials": trial_counts(study),  # trials scored on every fold, per design
        "verdict": compare(study).headline,
        "confirmation": study.user_attrs.get("confirmation"),  # scores of the winners on fresh folds
        "data": {
            "rows": study_attrs.get("data_rows"),
            "positives": study_attrs.get("data_positives"),
            "fingerprint": study_attrs.get("data_fingerprint"),
            "numeric_columns": study_attrs.get("numeric_columns"),
            "categorical_columns": study_attrs.get("categorical_columns", []),
            "folds": study_attrs.get("folds"),
        },
        "versions": package_versions(),
    }


def package_versions() -> dict[str, str | None]:
    versions = {}
    for package in ("fusion-search", "keras", "optuna", "tensorflow-cpu", "tensorflow", "jax", "scikit-learn", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions




def record_text(record: dict[str, Any], fmt: str = "json") -> str:
    """The record as JSON, or YAML (keys in the record's order)."""
    text = json.dumps(record, indent=2)
    if fmt == "yaml":
        text = yaml.safe_dump(json.loads(text), sort_keys=False).rstrip("\n")
    return text + "\n"
