"""A first try for every fusion family, as the baselines have one, and the rule that keeps fold pruning from starving
fusion.

Each baseline starts at known-good defaults and is never pruned, so a fusion family's untuned first trial used to be
cut after one or two folds against a tuned baseline, and small studies often ended with no fusion design scored on
every fold. Now the space's ``first_tries`` (one per family, best first, from the measured ranking in
bench/results/first_tries.md) are queued right after the baselines and, like them, are references: scored on every
fold. They take at most half the study's fusion trials; the families beyond that are named in the run's output and in
the study attribute ``first_tries``. And no fusion trial is pruned at all until some fusion trial has been scored on
every fold (``may_prune``).
"""

from __future__ import annotations

import math
import sys

import optuna

from fusion_search.designs import baseline_fusions, get_kind
from fusion_search.spaces import Space, first_try_name, first_try_params
from fusion_search.study._summary import completed

FIRST_TRY = "first try"  # the user attr ``role`` of a queued first try
FIRST_TRIES_ATTR = "first_tries"  # study attr: {"tried": [names], "not_tried": [names]}
FUSION_SHARE = 0.5  # of the trials left to fusion after the baselines' share


def first_try_budget(trials: int, baseline_quota: int) -> int:
    """How many first tries a study of `trials` trials queues: at most half of the fusion trials (rounded up), so
    that the search still tunes."""
    fusion_trials = trials - baseline_quota * len(baseline_fusions())
    return max(0, math.ceil(FUSION_SHARE * fusion_trials))


def enqueue_first_tries(study: optuna.Study, space: Space, trials: int, baseline_quota: int) -> dict[str, list[str]]:
    """Queue the space's first tries the budget allows (after the baselines, which were queued first); record and
    say which families got one and which did not."""
    params = first_try_params(space)
    budget = first_try_budget(trials, baseline_quota)
    for entry in params[:budget]:
        study.enqueue_trial(entry, user_attrs={"role": FIRST_TRY})
    record = {"tried": [first_try_name(p) for p in params[:budget]],
              "not_tried": [first_try_name(p) for p in params[budget:]]}
    study.set_user_attr(FIRST_TRIES_ATTR, record)
    if record["not_tried"]:
        print(f"first tries: {', '.join(record['tried']) or 'none'}; no first try for "
              f"{', '.join(record['not_tried'])} (--trials {trials} leaves {budget} for them; the search may still "
              "reach those families)", file=sys.stderr, flush=True)
    return record


def is_reference(trial: optuna.Trial, fusion: str) -> bool:
    """A trial measured on every fold whatever its first folds score: a baseline (the reference every design is
    judged by) or a family's first try (so every family is scored once)."""
    return get_kind(fusion).is_baseline or trial.user_attrs.get("role") == FIRST_TRY


def fusion_scored(study: optuna.Study) -> bool:
    """Whether some fusion trial has been scored on every fold (until then, pruning would judge fusion only against
    the tuned baselines)."""
    return any(t.user_attrs.get("fusion") not in baseline_fusions() for t in completed(study))


class PruningGate:
    """Per worker: may this trial be pruned? Never a reference; a fusion trial only once a fusion trial has been
    scored on every fold (remembered once seen: a finished trial stays finished)."""

    def __init__(self) -> None:
        self._fusion_scored = False

    def may_prune(self, trial: optuna.Trial, fusion: str) -> bool:
        if is_reference(trial, fusion):
            return False
        if not self._fusion_scored:
            self._fusion_scored = fusion_scored(trial.study)
        return self._fusion_scored
