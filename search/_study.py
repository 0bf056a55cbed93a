"""Create or resume a study, check it matches the data, enqueue the baselines, run trials."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from search._dataset import SearchData
from search._errors import UserError
from search._objective import CrossValidatedObjective
from search._oof import save_oof_labels
from search._progress import SilentProgress
from spaces import Space, baseline_params
from storage import mask_url, open_storage

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@dataclass(frozen=True)
class RunSettings:
    """How a search runs (the CLI parses into this)."""

    study: str
    storage: str | None = None  # URL; None: $FUSION_SEARCH_STORAGE or the SQLite default
    trials: int = 20  # trials in the study in total, baselines included
    timeout: float | None = None  # seconds for this process
    seed: int = 0


def make_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Seeded multivariate TPE; group=True models conditional parameters (a fusion's own knobs);
    constant_liar keeps parallel workers from being handed the same design."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                      n_startup_trials=5)


def study_attrs(data: SearchData, space: Space, seed: int) -> dict:
    manifest = data.manifest
    return {
        "data_fingerprint": manifest.fingerprint,
        "data_rows": manifest.rows,
        "data_positives": manifest.positives,
        "numeric_columns": list(manifest.numeric_columns),
        "folds": data.k,
        "fold_seed": data.fold_seed,
        "seed": seed,
        "space": space.name,
        "space_fixed": space.fixed,
    }


def open_or_create_study(settings: RunSettings, data: SearchData, space: Space) -> optuna.Study:
    """Create the study (and enqueue baselines) exactly once; later callers load and check it."""
    storage = open_storage(settings.storage)
    attrs = study_attrs(data, space, settings.seed)
    sampler = make_sampler(settings.seed)
    try:
        study = optuna.create_study(storage=storage, study_name=settings.study, direction="maximize", sampler=sampler)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(storage=storage, study_name=settings.study, sampler=sampler)
        _require_same_setup(study, attrs)
        return study
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    save_oof_labels(study, data.manifest.labels)
    for params in baseline_params(space):
        study.enqueue_trial(params, user_attrs={"role": "baseline"})
    return study


def load_existing_study(name: str, storage_url: str | None) -> optuna.Study:
    storage = open_storage(storage_url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        known = f"; studies there: {', '.join(names)}" if names else "; that storage has no studies"
        raise UserError(f"no study named '{name}' in {mask_url(storage.url)}{known}") from None


def run_search(settings: RunSettings, data: SearchData, space: Space,
               progress: SilentProgress | None = None) -> optuna.Study:
    """Run trials in this process until the study holds settings.trials finished trials."""
    study = open_or_create_study(settings, data, space)
    remaining = settings.trials - _finished(study)
    if remaining <= 0:
        return study
    objective = CrossValidatedObjective(data, space, settings.seed, progress)
    stop_at_total = optuna.study.MaxTrialsCallback(settings.trials, states=FINISHED)
    study.optimize(objective, n_trials=remaining, timeout=settings.timeout, callbacks=[stop_at_total],
                   catch=(FloatingPointError, ValueError))
    return study


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _require_same_setup(study: optuna.Study, attrs: dict) -> None:
    existing = study.user_attrs
    for key in ("data_fingerprint", "folds", "fold_seed", "space"):
        if key in existing and existing[key] != attrs[key]:
            raise UserError(
                f"study '{study.study_name}' was made with {key}={existing[key]!r}, this run has {attrs[key]!r}; "
                "use the same data and settings to resume, or a new --study name"
            )
