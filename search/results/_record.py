"""The export record: a trial, its design and scores, the study's baselines, the data and the versions."""

from __future__ import annotations

import json
import statistics
from importlib import metadata
from typing import Any

import optuna
import yaml

from fusion_search.results._verdict import compare
from fusion_search.study import BELOW_CHANCE, Ensemble, baselines, chosen_trial, trial_counts, trial_design


def ensemble_record(study: optuna.Study, ensemble: Ensemble) -> dict[str, Any]:
    """One of the study's ensembles (``study_ensemble``), with what is needed to read and rebuild it."""
    trials, comparison = study.trials, compare(study)
    return {
        "study": study.study_name, "ensemble": ensemble.side, "oof_auc": ensemble.oof_auc,
        "members": [{"trial": n, "weight": w, "fusion": trials[n].user_attrs.get("fusion"),
                     "mean_auc": round(trials[n].value, 6), "design": trial_design(study, trials[n]).to_params()}
                    for n, w in ensemble.members.items()],
        "baselines": baselines(study), "verdict": comparison.headline, "evidence": comparison.evidence,
        "confirmation": study.user_attrs.get("confirmation"), "data": _data(study), "versions": package_versions(),
    }


def export_record(study: optuna.Study, trial_number: int | None = None) -> dict[str, Any]:
    """The best (or a chosen) complete trial with everything needed to read and reuse it."""
    trial = chosen_trial(study, trial_number)
    attrs = trial.user_attrs
    fold_aucs = attrs.get("fold_aucs", [])
    comparison = compare(study)
    return {
        "study": study.study_name,
        "trial": trial.number,
        "fusion": attrs.get("fusion"),
        "mean_auc": round(trial.value, 6),
        "std_auc": attrs.get("std_auc", round(statistics.pstdev(fold_aucs), 6) if fold_aucs else None),
        "fold_aucs": fold_aucs,
        "oof_auc": attrs.get("oof_auc"),
        "below_chance": attrs.get(BELOW_CHANCE),  # None, or why the design is flagged (a training problem)
        "epochs": attrs.get("epochs"),
        "params": trial.params,
        "design": trial_design(study, trial).to_params(),
        "baselines": baselines(study),
        "tuned_trials": trial_counts(study),  # trials scored on every fold, per design
        "verdict": comparison.headline,
        "evidence": comparison.evidence,  # the fresh-fold gain, its 95% interval, the smallest detectable gain
        "confirmation": study.user_attrs.get("confirmation"),  # scores of the winners on fresh folds
        "data": _data(study),
        "versions": package_versions(),
    }


def _data(study: optuna.Study) -> dict[str, Any]:
    attrs = study.user_attrs
    return {"rows": attrs.get("data_rows"), "positives": attrs.get("data_positives"),
            "classes": {name: rows for name, rows in attrs.get("classes", [])} or None,
            "fingerprint": attrs.get("data_fingerprint"), "numeric_columns": attrs.get("numeric_columns"),
            "categorical_columns": attrs.get("categorical_columns", []), "folds": attrs.get("folds")}


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
