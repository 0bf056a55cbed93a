"""A guaranteed share of tuning trials for every baseline: "fusion beats the best single modality" compares
tuned against tuned only if the baselines are searched too, however TPE spreads its trials over the designs.

Each baseline's enqueued default counts as its first trial. Whenever a worker takes a slot, a baseline with
fewer trials than its share of the study done so far gets one queued ({"fusion": name}; TPE picks the rest),
so the baselines are tuned throughout the study, not only at its end.
"""

from __future__ import annotations

import math

import optuna
from optuna.trial import TrialState

from fusion_search.designs import baseline_fusions

SHARE = 0.10  # of the study's trials, per baseline
AT_LEAST = 3  # trials per baseline
TAKEN = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def baseline_quota(trials: int, per_baseline: int | None = None) -> int:
    """Trials each baseline gets at least: per_baseline when given, else max(3, 10% of the study); never so many
    that the baselines together take more than half of it (a tiny study still searches fusion)."""
    wanted = per_baseline if per_baseline is not None else max(AT_LEAST, math.ceil(SHARE * trials))
    return max(1, min(wanted, trials // (2 * len(baseline_fusions()))))


def top_up_baselines(study: optuna.Study, target: int, quota: int,
                     trials: list[optuna.trial.FrozenTrial] | None = None) -> bool:
    """Called before a slot is taken: queue a trial of each baseline that is behind; True if it queued any.
    `trials`: the study's trials if the caller just read them. Workers claiming at the same moment may both queue
    one, so a baseline can get a trial or two beyond its share; it gets fewer only where several baselines fall
    behind when fewer slots are left than they need (never queued past the study's end, where they could not run)."""
    trials = [t for t in trials if t.state in TAKEN] if trials is not None else study.get_trials(
        deepcopy=False, states=TAKEN)
    started = sum(t.state != TrialState.WAITING for t in trials)
    due = min(quota, math.ceil(quota * (started + 1) / target))
    have = {name: 0 for name in baseline_fusions()}
    for trial in trials:
        name = trial_fusion(trial)
        if name in have:
            have[name] += 1
    room = max(0, target - len(trials))  # never queue past the study's end, where it could not run
    behind = [name for name, count in have.items() if count < due][:room]
    for name in behind:
        study.enqueue_trial({"fusion": name}, user_attrs={"role": "baseline tuning"})
    return bool(behind)


def trial_fusion(trial: optuna.trial.FrozenTrial) -> str | None:
    """A trial's design, also for a queued trial that has not suggested it yet."""
    return trial.params.get("fusion", trial.system_attrs.get("fixed_params", {}).get("fusion"))
