"""Read a finished or running study: trial counts, best design per fusion type, baselines (never writes)."""

from __future__ import annotations

from collections import Counter

import optuna

from fusion_search._errors import UserError
from fusion_search.designs import Design, baseline_fusions
from fusion_search.study._claim import NOT_RUN_KEY

COMPLETE = optuna.trial.TrialState.COMPLETE
PARTIAL_MEAN = "partial_mean_auc"  # user attr of a fold-pruned trial: the mean AUC of the folds it ran


def state_counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state; fold-pruned trials (PRUNED in Optuna; COMPLETE in studies before 2026-12) count as 'PRUNED EARLY',
    trials skipped for memory (PRUNED in Optuna, never trained) as 'SKIPPED', those whose loss became NaN
    (PRUNED in Optuna) as 'DIVERGED', failed trials that never ran (a claim that lost the race for the last slot,
    _claim.NOT_RUN_KEY) as 'NOT RUN'."""
    counts = {state.name: 0 for state in optuna.trial.TrialState} | {"NOT RUN": 0}
    for trial in study.get_trials(deepcopy=False):
        counts["NOT RUN" if NOT_RUN_KEY in trial.system_attrs else trial.state.name] += 1
    counts["PRUNED EARLY"], counts["SKIPPED"], counts["DIVERGED"] = (
        len(pruned(study)), len(skipped(study)), len(diverged(study)))
    early = Counter(t.state.name for t in pruned(study))
    counts["COMPLETE"] -= early["COMPLETE"]
    counts["PRUNED"] -= counts["SKIPPED"] + counts["DIVERGED"] + early["PRUNED"]
    return {state: n for state, n in counts.items() if n}


def diverged(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials whose training loss became NaN or infinite (user attr diverged: where)."""
    return [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
            if t.user_attrs.get("diverged")]


def skipped(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that trained nothing because their batch could not fit device memory (user attr skipped: why)."""
    return [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
            if t.user_attrs.get("skipped")]


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete trials evaluated on every fold (a fold-pruned trial's running mean is not comparable)."""
    return [t for t in study.get_trials(deepcopy=False, states=(COMPLETE,))
            if t.value is not None and not t.user_attrs.get("pruned", False)]


def pruned(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials stopped early by fold pruning (user attr pruned): PRUNED, their running mean in user attr
    partial_mean_auc; COMPLETE with the running mean as their value in studies from before 2026-12."""
    return [t for t in study.get_trials(deepcopy=False, states=(COMPLETE, optuna.trial.TrialState.PRUNED))
            if t.user_attrs.get("pruned", False)]


def running_mean(trial: optuna.trial.FrozenTrial) -> float | None:
    """A trial's mean AUC: over every fold, or over the folds a fold-pruned trial ran (its value is Optuna's: a
    PRUNED trial's value is the AUC of its highest-numbered fold, its last step)."""
    return trial.user_attrs.get(PARTIAL_MEAN, trial.value)


def best_per_fusion(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """fusion type -> its best complete trial, best first."""
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in completed(study):
        fusion = trial.user_attrs.get("fusion", trial.params.get("fusion"))
        if fusion not in best or trial.value > best[fusion].value:
            best[fusion] = trial
    return dict(sorted(best.items(), key=lambda item: -item[1].value))


def trial_counts(study: optuna.Study) -> dict[str, int]:
    """Trials scored on every fold, per design: how hard each design (each baseline too) was tuned."""
    counts: dict[str, int] = {}
    for trial in completed(study):
        fusion = trial.user_attrs.get("fusion", trial.params.get("fusion"))
        counts[fusion] = counts.get(fusion, 0) + 1
    return counts


def baselines(study: optuna.Study) -> dict[str, float | None]:
    """Best mean AUC of each single-modality design (None until one has completed)."""
    best = best_per_fusion(study)
    return {name: (round(best[name].value, 6) if name in best else None) for name in baseline_fusions()}


def best_baseline(study: optuna.Study) -> tuple[str, float] | None:
    known = [(name, value) for name, value in baselines(study).items() if value is not None]
    return max(known, key=lambda item: item[1]) if known else None


def design_label(trial: optuna.trial.FrozenTrial) -> str:
    """The trial's design in words: 'concat', or 'concat on descriptors' where the study searches the backbone."""
    name = trial.user_attrs.get("fusion", trial.params.get("fusion", "?"))
    return f"{name} on {trial.params['backbone']}" if "backbone" in trial.params else name


def trial_design(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Design:
    """The trial's design: the study's stored space's fixed values, then the trial's parameters."""
    fixed = study.user_attrs.get("space_resolved", {}).get("fixed", study.user_attrs.get("space_fixed", {}))
    return Design.from_params({**fixed, **trial.params})


def chosen_trial(study: optuna.Study, trial_number: int | None) -> optuna.trial.FrozenTrial:
    done = completed(study)
    if not done:
        raise UserError(f"study '{study.study_name}' has no complete trial yet")
    if trial_number is None:
        return max(done, key=lambda t: t.value)
    match = [t for t in done if t.number == trial_number]
    if not match:
        raise UserError(f"study '{study.study_name}' has no complete trial number {trial_number}")
    return match[0]
