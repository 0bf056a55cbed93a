"""Every baseline gets its share of tuning trials, spread through the study, whatever the sampler prefers."""

from __future__ import annotations

import math

import optuna
import pytest

from fusion_search.designs import baseline_fusions
from fusion_search.study import baseline_quota
from fusion_search.study._budget import top_up_baselines

CHOICES = ["concat", *baseline_fusions()]


@pytest.mark.parametrize("trials, asked, quota", [
    (24, None, 3),  # at least 3 each
    (100, None, 10),  # or 10% of the study each, whichever is more
    (16, None, 2),  # never more than half of the study for the three baselines together
    (24, 5, 4),
    (40, 2, 2),  # settable
    (5, None, 1),
])
def test_the_quota_is_at_least_three_or_ten_percent_each_and_at_most_half_the_study(trials, asked, quota):
    assert baseline_quota(trials, asked) == quota


def run(target: int, quota: int) -> list[str]:
    """A study whose sampler always proposes concat; the budget tops up the baselines as slots are taken."""
    sampler = optuna.samplers.PartialFixedSampler({"fusion": "concat"}, optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for name in baseline_fusions():  # the enqueued defaults, as a new study has them
        study.enqueue_trial({"fusion": name}, user_attrs={"role": "baseline"})
    for _ in range(target):
        top_up_baselines(study, target, quota)
        trial = study.ask()
        study.tell(trial, 0.5 if trial.suggest_categorical("fusion", CHOICES) == "concat" else 0.6)
    return [t.params["fusion"] for t in study.trials]


@pytest.mark.parametrize("target, quota", [(30, 3), (24, 4), (60, 6)])
def test_each_baseline_gets_its_quota_spread_through_the_study(target, quota):
    order = run(target, quota)
    assert len(order) == target
    for name in baseline_fusions():
        positions = [i for i, fusion in enumerate(order) if fusion == name]
        assert len(positions) == quota, (name, order)
        for k, position in enumerate(positions, start=1):  # the k-th comes once k/quota of the study has run
            assert position < math.ceil(k / quota * target) + len(baseline_fusions()), (name, positions)
    assert order.count("concat") == target - quota * len(baseline_fusions())


def test_a_baseline_the_sampler_picks_by_itself_counts_towards_its_quota():
    sampler = optuna.samplers.PartialFixedSampler({"fusion": "concat"}, optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(3):  # three image_only trials the search chose on its own
        study.enqueue_trial({"fusion": "image_only"})
    for _ in range(10):
        top_up_baselines(study, 10, 2)
        trial = study.ask()
        study.tell(trial, 0.5 if trial.suggest_categorical("fusion", CHOICES) else 0.5)
    order = [t.params["fusion"] for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert (order.count("image_only"), order.count("numeric_only"), order.count("gbdt_only")) == (3, 2, 2)
