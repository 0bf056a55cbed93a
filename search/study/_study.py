"""Create or resume a study, check it matches the data, enqueue the baselines, run trials."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search.data import SearchData
from fusion_search.spaces import Space, baseline_params, first_difference
from fusion_search.storage import (
    HEARTBEAT_SECONDS, mask_url, open_storage, resolve_storage_url, retry_storage, storage_url,
)
from fusion_search.study._budget import baseline_quota, top_up_baselines
from fusion_search.study._confirm import confirm
from fusion_search.study._first_tries import enqueue_first_tries
from fusion_search.study._objective import CrossValidatedObjective, require_baselines_fit, require_splittable
from fusion_search.study._oof import save_oof_labels
from fusion_search.study._preflight import require_weights, say_classes, say_holdout
from fusion_search.study._progress import SilentProgress
from fusion_search.study._worker import WorkerSettings, run_worker

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # constant_liar, Wilcoxon pruner
METRIC_NAME = "mean ROC AUC"  # what the dashboard calls the objective

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
HEARTBEAT_ATTR = "heartbeat_seconds"  # the study's heartbeat interval: every worker beats and judges by it


@dataclass(frozen=True)
class RunSettings:
    """How a search runs (the CLI parses into this)."""

    study: str
    storage: str | None = None  # URL; None: $FUSION_SEARCH_STORAGE or the SQLite default
    trials: int = 20  # trials in the study in total, baselines included
    timeout: float | None = None  # seconds for this process
    seed: int = 0
    create: bool = True  # False: a worker that only joins an existing study
    heartbeat: int | None = None  # seconds between heartbeats (stale after 3 missed); None: the study's (new: 30)
    prune_p: float = 0.3  # WilcoxonPruner p-value threshold over folds; 0 = never prune
    baseline_trials: int | None = None  # trials each baseline gets at least; None: max(3, 10% of trials)
    confirm_repeats: int | None = None  # R of the confirmation on fresh folds; None: about 20% of the search; 0: none
    confirm_folds: int | None = None  # K of each fresh partition; None: 10 (the study's k where the rows allow fewer)


def make_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Seeded multivariate TPE; group=True models conditional parameters (a fusion's own knobs);
    constant_liar keeps parallel workers from being handed the same design."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                      n_startup_trials=5)


def make_pruner(prune_p: float) -> optuna.pruners.BasePruner:
    """Fold pruning: stop a trial once a one-sided Wilcoxon signed-rank test over the folds done so far
    says it is worse than the best trial on the same folds. The smallest one-sided p-values after 2, 3
    and 4 folds are 0.25, 0.125 and 0.0625: the default 0.3 prunes a trial whose first 2 folds both
    lose to the best's, 0.2 waits for 3 folds, 0.1 for 4 (bench/results/results.md measures 0.3 and 0.2)."""
    if prune_p <= 0:
        return optuna.pruners.NopPruner()
    return optuna.pruners.WilcoxonPruner(p_threshold=prune_p, n_startup_steps=2)


def study_attrs(data: SearchData, space: Space, seed: int) -> dict:
    manifest = data.manifest
    return {
        "data_fingerprint": manifest.fingerprint,
        "data_rows": manifest.rows,
        "data_positives": manifest.positives if manifest.n_classes == 2 else None,
        "classes": [[name, rows] for name, rows in manifest.classes] if manifest.n_classes > 2 else [],  # label i = i-th
        "numeric_columns": list(manifest.numeric_columns),
        "categorical_columns": list(manifest.categorical_columns),
        "folds": data.k,
        "fold_seed": data.fold_seed,
        "holdout_rows": int(len(data.holdout_rows)),
        "holdout_fraction": data.holdout_fraction,
        "seed": seed,
        "space": space.name,
        "space_resolved": space.record(),  # every trial's design is rebuilt from this (export, confirmation)
    }


def open_or_create_study(settings: RunSettings, data: SearchData, space: Space) -> optuna.Study:
    """Create the study (and enqueue baselines) exactly once; later callers load and check it."""
    return _open_or_create(settings, data, space)[0]


def _open_or_create(settings: RunSettings, data: SearchData, space: Space) -> tuple[optuna.Study, bool]:
    """(the study, whether this call created it)."""
    storage = open_storage(settings.storage)
    attrs = study_attrs(data, space, settings.seed)
    sampler, pruner = make_sampler(settings.seed), make_pruner(settings.prune_p)
    if not settings.create:
        study = _load_or_explain(settings.study, storage, sampler, pruner)
        _require_same_setup(_wait_until_ready(study), attrs)
        study_heartbeat(study, settings.heartbeat)
        return study, False
    try:
        study = optuna.create_study(storage=storage, study_name=settings.study, direction="maximize", sampler=sampler,
                                    pruner=pruner)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, study_name=settings.study, sampler=sampler, pruner=pruner)
        _require_same_setup(_wait_until_ready(study), attrs)
        study_heartbeat(study, settings.heartbeat)
        return study, False
    study.set_metric_names([METRIC_NAME])
    for key, value in {**attrs, HEARTBEAT_ATTR: settings.heartbeat or HEARTBEAT_SECONDS}.items():
        study.set_user_attr(key, value)
    save_oof_labels(study, np.where(data.folds >= 0, data.manifest.labels, -1))  # -1: held out
    for params in baseline_params(space):
        study.enqueue_trial(params, user_attrs={"role": "baseline"})
    enqueue_first_tries(study, space, settings.trials, baseline_quota(settings.trials, settings.baseline_trials))
    study.set_user_attr("ready", True)  # workers that loaded the study meanwhile wait for this
    return study, True


def study_heartbeat(study: optuna.Study, asked: float | None = None) -> float:
    """The study's heartbeat interval, by which every worker beats and judges others stale (with its own, a worker
    would fail live trials or wait on dead ones); UserError when ``asked`` differs. A study from before the interval
    was stored: ``asked``, else the default."""
    stored = study.user_attrs.get(HEARTBEAT_ATTR)
    if stored is None:
        return asked or HEARTBEAT_SECONDS
    if asked is not None and asked != stored:
        raise UserError(f"study '{study.study_name}' beats every {stored:g} s and its workers judge stale trials by "
                        f"that; this worker asks for --heartbeat {asked:g}: leave the flag out, or give {stored:g}")
    return stored


def _wait_until_ready(study: optuna.Study, patience: float = 60.0) -> optuna.Study:
    """A worker that lost the creation race waits until the creator has written the study's setup
    and queued the baselines (older studies with finished trials count as ready)."""
    deadline = time.monotonic() + patience
    url = storage_url(study._storage)
    while time.monotonic() < deadline:  # once the storage is open, an outage is waited out, not fatal
        if retry_storage(lambda: study.user_attrs.get("ready") or _finished(study), url):
            break
        time.sleep(0.5)
    return study


def load_existing_study(name: str, storage_url: str | None) -> optuna.Study:
    return _load_or_explain(name, open_storage(storage_url))


def _load_or_explain(name: str, storage: optuna.storages.BaseStorage,
                     sampler: optuna.samplers.BaseSampler | None = None,
                     pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        known = f"; studies there: {', '.join(names)}" if names else "; that storage has no studies"
        raise UserError(f"no study named '{name}' in {mask_url(storage_url(storage))}{known}") from None


def run_search(settings: RunSettings, data: SearchData, space: Space,
               progress: SilentProgress | None = None,
               second_look: Callable[[optuna.Study], str | None] | None = None) -> optuna.Study:
    """Run trials in this process until the study holds settings.trials finished trials, then confirm the
    winners on fresh folds (joining other workers' confirmation, or resuming it; ``second_look``: the rule of a
    two-look confirmation, _confirm.confirm). Every check that can fail runs before the study exists; a study this
    call made is removed again when the run fails before any trial ended."""
    require_splittable(data, space)
    require_baselines_fit(data, space)
    require_weights(space)
    say_classes(data)
    say_holdout(data)
    study, created = _open_or_create(settings, data, space)  # an unreachable database here is a user error
    try:
        _search_then_confirm(study, settings, data, space, progress, second_look)
    except Exception:
        if created:
            _remove_if_unstarted(study)
        raise
    return study


def _search_then_confirm(study: optuna.Study, settings: RunSettings, data: SearchData, space: Space,
                         progress: SilentProgress | None, second_look=None) -> None:
    url, heartbeat = resolve_storage_url(settings.storage), study_heartbeat(study)
    if retry_storage(lambda: _finished(study), url) < settings.trials:
        objective = CrossValidatedObjective(data, space, settings.seed, progress, settings.trials)
        quota = baseline_quota(settings.trials, settings.baseline_trials)
        worker = WorkerSettings(trials=settings.trials, timeout=settings.timeout, heartbeat=heartbeat,
                                before_claim=lambda s, now: top_up_baselines(s, settings.trials, quota, now))
        run_worker(study, objective, worker,
                   sampler_for=lambda number: make_sampler(trial_seed(settings.seed, number)))
    if settings.confirm_repeats != 0 and retry_storage(lambda: _finished(study), url) >= settings.trials:
        confirm(study, data, settings.confirm_repeats, settings.seed, progress, settings.confirm_folds, heartbeat,
                second_look)


def _remove_if_unstarted(study: optuna.Study) -> None:
    """Delete a study no trial finished or runs in (a run that failed on its first trial, a baseline that could
    not train): the retry, with another space say, starts afresh instead of being refused by a half-made study."""
    with suppress(Exception):  # the error that got here is the one to report
        if not study.get_trials(deepcopy=False, states=(*FINISHED, optuna.trial.TrialState.RUNNING)):
            optuna.delete_study(study_name=study.study_name, storage=study._storage)


def trial_seed(seed: int, trial_number: int) -> int:
    """The sampler's seed for one trial: the same run reproduces, concurrent workers differ."""
    return (seed * 1_000_003 + trial_number * 7919) % (2**31 - 1)


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _require_same_setup(study: optuna.Study, attrs: dict) -> None:
    """Resuming with other data, folds or space would mix trials that mean different things: refuse."""
    existing = study.user_attrs
    for key in ("data_fingerprint", "folds", "fold_seed", "holdout_rows", "space"):
        if key in existing and existing[key] != attrs[key]:
            raise UserError(
                f"study '{study.study_name}' was made with {key}={existing[key]!r}, this run has {attrs[key]!r}; "
                "use the same data and settings to resume, or a new --study name"
            )
    stored = existing.get("space_resolved")
    if stored is not None and (key := first_difference(stored, attrs["space_resolved"])) is not None:
        raise UserError(
            f"study '{study.study_name}' was searched with a different space: {key} was "
            f"{_at(stored, key)!r}, this run has {_at(attrs['space_resolved'], key)!r}; resume with the same space, "
            "or use a new --study name")


def _at(record: dict, key: str):
    """The value at a dotted key of a space record (None where the key is absent)."""
    for part in key.split("."):
        if not isinstance(record, dict) or part not in record:
            return None
        record = record[part]
    return record
