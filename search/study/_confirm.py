"""Confirmation: the search's winners trained again on fresh partitions that played no part in choosing them.

The best fusion design and the best trial of each baseline (by search mean AUC) are each trained on R repeats
of k folds drawn with new seeds and, when the study holds rows out (--holdout), once on every search row and
scored on the held-out rows. Each (design, repeat, fold) is one *unit*, a trial of the companion study
``<study>:confirm`` run by the search's own worker loop: workers that reach the end together share the units,
each unit runs once, a killed worker's unit is retried, and a rerun resumes. When every unit is complete, the
scores are written into the study (study attr ``confirmation``); the dashboard shows the units themselves.
"""

from __future__ import annotations

import math

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search.data import SearchData, assign_folds, fold_indices
from fusion_search.designs import baseline_fusions
from fusion_search.storage import retry_storage, study_lock
from fusion_search.study._progress import SilentProgress
from fusion_search.study._summary import best_per_fusion, trial_design
from fusion_search.study._worker import WorkerSettings, rdb_storage, run_worker
from fusion_search.trainers import fold_data, train_fold

SUFFIX = ":confirm"
SHARE = 0.20  # of the search's fold trainings that the default confirmation may cost
SEED_STEP = 1_000_003  # repeat r's partition seed: the study's fold seed + (r + 1) * SEED_STEP
HOLDOUT = -1  # repeat and fold of a unit that trains on every search row and scores the held-out rows
SCORES_KEY = "fusion_search:holdout_scores"  # unit trial system attr: the held-out rows' scores


def default_repeats(trials: int, designs: int) -> int:
    """R such that designs x R x k confirmation trainings cost about SHARE of the search's trials x k."""
    return max(1, math.floor(SHARE * trials / max(1, designs)))


def chosen_trials(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """role -> trial: "fusion" (the best fusion design scored on every fold), and each baseline's best."""
    best = best_per_fusion(study)
    chosen = {name: best[name] for name in baseline_fusions() if name in best}
    fusions = [trial for name, trial in best.items() if name not in baseline_fusions()]
    if fusions:
        chosen["fusion"] = fusions[0]
    return chosen


def plan(study: optuna.Study, data: SearchData, repeats: int) -> dict | None:
    """What to confirm: the chosen trials, R, k and the units (role, trial, repeat, fold); None when the study
    has no fusion design and baseline scored on every fold yet."""
    chosen = chosen_trials(study)
    if "fusion" not in chosen or len(chosen) < 2:
        return None
    units = [{"role": role, "trial": t.number, "repeat": r, "fold": f}
             for role, t in chosen.items() for r in range(repeats) for f in range(data.k)]
    if len(data.holdout_rows):
        units += [{"role": role, "trial": t.number, "repeat": HOLDOUT, "fold": HOLDOUT} for role, t in chosen.items()]
    return {"trials": {role: t.number for role, t in chosen.items()}, "repeats": repeats, "folds": data.k,
            "units": units}


def confirm(study: optuna.Study, data: SearchData, repeats: int, seed: int,
            progress: SilentProgress | None = None) -> dict | None:
    """Run (or join, or resume) the confirmation of the study's current winners; returns the summary written
    into the study, or None while units are still running elsewhere or some failed."""
    if repeats < 1:
        raise UserError(f"confirmation repeats must be at least 1, got {repeats}")
    wanted = plan(study, data, repeats)
    if wanted is None:
        return None
    companion = _open_companion(study, wanted)
    if len(data.holdout_rows):
        labels = [int(v) for v in data.manifest.labels[data.holdout_rows]]
        study._storage.set_study_system_attr(study._study_id, f"{SCORES_KEY}:labels", labels)
    objective = UnitObjective(study, data, seed, progress or SilentProgress())
    run_worker(companion, objective, WorkerSettings(trials=len(wanted["units"]), create=False))
    return summarize(study, companion)


def _open_companion(study: optuna.Study, wanted: dict) -> optuna.Study:
    """The companion study with the planned units queued, created once under the study's lock; units that
    failed are queued again; a plan that changed (the study grew and has new winners) replaces the old one."""
    storage, name = study._storage, study.study_name + SUFFIX
    with study_lock(rdb_storage(study).engine, name):
        try:
            companion = optuna.load_study(study_name=name, storage=storage)
            if companion.user_attrs.get("plan") == wanted:
                _requeue_failed(companion, wanted["units"])
                return companion
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass
        companion = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                        sampler=optuna.samplers.RandomSampler(seed=0))
        companion.set_user_attr("plan", wanted)
        for unit in wanted["units"]:
            companion.enqueue_trial({}, user_attrs=unit)
        return companion


def _requeue_failed(companion: optuna.Study, units: list[dict]) -> None:
    """Queue again every planned unit that has no complete, running or queued trial (it failed)."""
    alive = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    have = {_key(t.user_attrs) for t in companion.get_trials(deepcopy=False, states=alive)}
    for unit in units:
        if _key(unit) not in have:
            companion.enqueue_trial({}, user_attrs=unit)


def _key(unit: dict) -> tuple:
    return unit["role"], unit["repeat"], unit["fold"]


class UnitObjective:
    """One unit: the chosen trial's design trained on one fold of a fresh partition (or on every search row,
    scored on the held-out rows); its value is that fold's AUC."""

    def __init__(self, study: optuna.Study, data: SearchData, seed: int, progress: SilentProgress):
        self.study, self.data, self.seed, self.progress = study, data, seed, progress
        self.partitions: dict[int, np.ndarray] = {}

    def __call__(self, trial: optuna.Trial) -> float:
        unit = trial.user_attrs
        design = trial_design(self.study, self.study.trials[unit["trial"]])
        self.progress.trial_started(trial.number, f"confirm {design.fusion}")
        if unit["fold"] == HOLDOUT:
            train_idx, val_idx = self.data.search_rows, self.data.holdout_rows
        else:
            train_idx, val_idx = fold_indices(self.partition(unit["repeat"]), unit["fold"])
        seed = (self.seed * 7919 + (unit["repeat"] + 2) * 101 + unit["fold"] + 2) % (2**31 - 1)  # holdout: -1, -1
        result = train_fold(design, fold_data(self.data, design), train_idx, val_idx, seed=seed)
        if unit["fold"] == HOLDOUT:
            trial.storage.set_trial_system_attr(trial._trial_id, SCORES_KEY, [float(s) for s in result.scores])
        trial.set_user_attr("epochs", result.epochs)
        self.progress.trial_ended(trial.number, f"confirm {design.fusion}", result.auc)
        return result.auc

    def partition(self, repeat: int) -> np.ndarray:
        """Fresh folds of the search rows: the same k, new seeds, held-out rows still out."""
        if repeat not in self.partitions:
            manifest = self.data.manifest
            self.partitions[repeat] = assign_folds(manifest.labels, self.data.k,
                                                   self.data.fold_seed + (repeat + 1) * SEED_STEP, manifest.groups,
                                                   held_out=self.data.folds < 0)
        return self.partitions[repeat]


def summarize(study: optuna.Study, companion: optuna.Study) -> dict | None:
    """When every unit is complete: the confirmation scores, written into the study (idempotent)."""
    units = companion.get_trials(deepcopy=False)
    done = [t for t in units if t.state == optuna.trial.TrialState.COMPLETE]
    wanted = companion.user_attrs["plan"]
    if len(done) < len(wanted["units"]):
        return None
    summary = {"repeats": wanted["repeats"], "folds": wanted["folds"], "designs": {}}
    for role, number in wanted["trials"].items():
        mine = [t for t in done if t.user_attrs["role"] == role]
        folds = sorted((t.user_attrs["repeat"], t.user_attrs["fold"], t.value) for t in mine
                       if t.user_attrs["fold"] != HOLDOUT)
        held = [t for t in mine if t.user_attrs["fold"] == HOLDOUT]
        summary["designs"][role] = {
            "trial": number, "fusion": study.trials[number].user_attrs.get("fusion"),
            "aucs": [round(auc, 6) for _, _, auc in folds], "mean_auc": round(float(np.mean([a for *_, a in folds])), 6),
            "holdout_auc": round(held[0].value, 6) if held else None}
        _save_holdout_scores(study, role, held)
    retry_storage(lambda: study.set_user_attr("confirmation", summary), rdb_storage(study).url)
    return summary


def _save_holdout_scores(study: optuna.Study, role: str, held: list[optuna.trial.FrozenTrial]) -> None:
    if held:
        scores = held[0].system_attrs.get(SCORES_KEY)
        study._storage.set_study_system_attr(study._study_id, f"{SCORES_KEY}:{role}", scores)


def holdout_scores(study: optuna.Study, role: str) -> np.ndarray | None:
    """The held-out rows' scores of a confirmed design, or their labels for role "labels" (None without a holdout)."""
    scores = study._storage.get_study_system_attrs(study._study_id).get(f"{SCORES_KEY}:{role}")
    return None if scores is None else np.asarray(scores, dtype=float)


def confirmation_progress(study: optuna.Study) -> tuple[int, int] | None:
    """(units complete, units planned) of the study's confirmation; None when none was started."""
    try:
        companion = optuna.load_study(study_name=study.study_name + SUFFIX, storage=study._storage)
    except KeyError:
        return None
    planned = len(companion.user_attrs.get("plan", {}).get("units", []))
    done = len(companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    return done, planned
