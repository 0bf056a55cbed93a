"""Study: create or resume an Optuna study, the cross-validated objective, the worker loop, the baselines'
share of trials, the confirmation on fresh folds, and reading a study back. Framework-free: a trial's
trainer brings its framework when it first trains."""

from fusion_search.study._budget import baseline_quota
from fusion_search.study._chance import BELOW_CHANCE, below_chance_reason, is_below_chance
from fusion_search.study._confirm import (
    CONFIRM_FOLDS, FUSION_DESIGN, SUFFIX as CONFIRMATION_SUFFIX, chosen_trials, companion_study, confirm, confirmation_progress,
    confirmation_setup, default_repeats, fresh_partition, is_baseline_role, require_confirmation_flags, roles, searched_trials,
)
from fusion_search.study._confirm_summary import holdout_scores
from fusion_search.study._control import CONTROL, missing_modality
from fusion_search.study._first_tries import FIRST_TRIES_ATTR, FIRST_TRY, first_try_budget
from fusion_search.study._ensemble import Ensemble, blend, study_ensemble, study_ensembles
from fusion_search.study._notes import note_progress, progress_note, save_note_if_changed, trial_note
from fusion_search.study._objective import CrossValidatedObjective, fold_order, fold_seed, require_baselines_fit
from fusion_search.study._oof import MAX_OOF_ROWS, MAX_OOF_VALUES, oof_labels, oof_scores
from fusion_search.study._preflight import AUTO, chosen_space
from fusion_search.study._progress import SilentProgress
from fusion_search.study._study import (
    METRIC_NAME, RunSettings, load_existing_study, make_pruner, make_sampler, open_or_create_study, run_search,
    study_heartbeat,
)
from fusion_search.study._summary import (
    baselines, best_baseline, best_per_fusion, chosen_trial, completed, design_label, diverged, pruned, running_mean, skipped, state_counts,
    trial_counts, trial_design,
)
from fusion_search.study._worker import WorkerSettings, WorkerStopped, run_worker

__all__ = [
    "FIRST_TRIES_ATTR", "FIRST_TRY", "first_try_budget",
    "note_progress", "progress_note", "save_note_if_changed", "trial_note",
    "CONFIRM_FOLDS", "CONTROL", "missing_modality",
    "CrossValidatedObjective", "Ensemble", "MAX_OOF_ROWS", "MAX_OOF_VALUES", "METRIC_NAME", "RunSettings", "SilentProgress", "WorkerSettings",
    "WorkerStopped", "baseline_quota", "baselines", "best_baseline", "best_per_fusion", "blend", "chosen_trial",
    "CONFIRMATION_SUFFIX", "FUSION_DESIGN", "chosen_trials", "companion_study", "completed", "confirm", "confirmation_progress",
    "confirmation_setup", "default_repeats", "fresh_partition", "require_confirmation_flags", "diverged", "is_baseline_role", "fold_order", "fold_seed",
    "holdout_scores", "load_existing_study", "make_pruner", "make_sampler", "oof_labels", "oof_scores",
    "open_or_create_study", "pruned", "running_mean", "require_baselines_fit", "roles", "run_search", "run_worker",
    "AUTO", "chosen_space", "study_heartbeat",
    "searched_trials", "skipped", "state_counts", "study_ensemble", "study_ensembles", "trial_counts", "trial_design", "design_label",
]
