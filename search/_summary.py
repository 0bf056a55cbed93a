"""Read a finished or running study: trial counts, best design per fusion type, baselines, export."""

from __future__ import annotations

import statistics
from importlib import metadata
from typing import Any

import optuna

from search._design import Design
from search._errors import UserError
from search.fusion import baseline_fusions

COMPLETE = optuna.trial.TrialState.COMPLETE


def state_counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state; fold-pruned trials (COMPLETE in Optuna, with their running mean) count as 'PRUNED EARLY',
    trials skipped for memory (PRUNED in Optuna, never trained) as 'SKIPPED'."""
    counts = {state.name: 0 for state in optuna.trial.TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] += 1
    counts["PRUNED EARLY"], counts["SKIPPED"] = len(pruned(study)), len(skipped(study))
    counts["COMPLETE"] -= counts["PRUNED EARLY"]
    counts["PRUNED"] -= counts["SKIPPED"]
    return {state: n for state, n in counts.items() if n}


def skipped(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that trained nothing because their batch could not fit device memory (user attr skipped: why)."""
    return [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
            if t.user_attrs.get("skipped")]


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete trials evaluated on every fold (a fold-pruned trial's running mean is not comparable)."""
    return [t for t in study.get_trials(deepcopy=False, states=(COMPLETE,))
            if t.value is not None and not t.user_attrs.get("pruned", False)]


def pruned(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials stopped early by fold pruning (state COMPLETE with their running mean, user attr pruned)."""
    return [t for t in study.get_trials(deepcopy=False, states=(COMPLETE,)) if t.user_attrs.get("pruned", False)]


def best_per_fusion(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """fusion type -> its best complete trial, best first."""
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in completed(study):
        fusion = trial.user_attrs.get("fusion", trial.params.get("fusion"))
        if fusion not in best or trial.value > best[fusion].value:
            best[fusion] = trial
    return dict(sorted(best.items(), key=lambda item: -item[1].value))


def baselines(study: optuna.Study) -> dict[str, float | None]:
    """Best mean AUC of each single-modality design (None until one has completed)."""
    best = best_per_fusion(study)
    return {name: (round(best[name].value, 6) if name in best else None) for name in baseline_fusions()}


def best_baseline(study: optuna.Study) -> tuple[str, float] | None:
    known = [(name, value) for name, value in baselines(study).items() if value is not None]
    return max(known, key=lambda item: item[1]) if known else None


def record_against_baselines(trial: optuna.Trial, fusion: str, value: float) -> None:
    """On completion: trial attr delta_vs_best_baseline, study attrs baselines and best_baseline.

    A snapshot as of this trial's end (this trial counted if it is a baseline itself); a later,
    better baseline trial moves the study attrs but not earlier trials' deltas.
    """
    study = trial.study
    known = {name: auc for name, auc in baselines(study).items() if auc is not None}
    if fusion in baseline_fusions() and not trial.user_attrs.get("pruned", False):  # a running mean is no reference
        known[fusion] = round(max(value, known.get(fusion, value)), 6)
    if not known:
        return
    reference = max(known, key=known.get)
    trial.set_user_attr("delta_vs_best_baseline", round(value - known[reference], 6) + 0.0)  # + 0.0: no "-0.0"
    study.set_user_attr("baselines", {name: known.get(name) for name in baseline_fusions()})
    study.set_user_attr("best_baseline", {"fusion": reference, "mean_auc": known[reference]})


def trial_design(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Design:
    return Design.from_params({**study.user_attrs.get("space_fixed", {}), **trial.params})


def export_record(study: optuna.Study, trial_number: int | None = None) -> dict[str, Any]:
    """The best (or a chosen) complete trial with everything needed to read and reuse it."""
    trial = _chosen_trial(study, trial_number)
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
        "data": {
            "rows": study_attrs.get("data_rows"),
            "positives": study_attrs.get("data_positives"),
            "fingerprint": study_attrs.get("data_fingerprint"),
            "numeric_columns": study_attrs.get("numeric_columns"),
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


def _chosen_trial(study: optuna.Study, trial_number: int | None) -> optuna.trial.FrozenTrial:
    done = completed(study)
    if not done:
        raise UserError(f"study '{study.study_name}' has no complete trial yet")
    if trial_number is None:
        return max(done, key=lambda t: t.value)
    match = [t for t in done if t.number == trial_number]
    if not match:
        raise UserError(f"study '{study.study_name}' has no complete trial number {trial_number}")
    return match[0]
