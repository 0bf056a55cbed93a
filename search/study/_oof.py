"""Out-of-fold scores kept in the study, so a report can draw ROC curves without the data.

They live in Optuna *system* attributes: plain storage rows every Optuna storage has, which the
dashboard and the ``optuna trials`` table do not show (hundreds of numbers would drown the readable
user attributes there). Scores are rounded to 4 decimals; studies over more than MAX_OOF_ROWS rows
keep none (the report then says so instead of drawing ROC curves).

Optuna 5 has no public setter for system attributes; the handles used here (``_storage``,
``_study_id``, ``_trial_id``) are the ones Optuna's own ``copy_study`` uses.
"""

from __future__ import annotations

import math

import numpy as np
import optuna

MAX_OOF_ROWS = 5000
MAX_OOF_VALUES = 20000  # K-class scores: rows x K at most (about 200 KB of JSON a trial)
SCORES_KEY = "fusion_search:oof_scores"  # trial system attr: floats, or K floats a row (None where not finite)
LABELS_KEY = "fusion_search:oof_labels"  # study system attr: list of 0/1 (-1: held out), manifest row order


def save_oof_labels(study: optuna.Study, labels: np.ndarray) -> None:
    if len(labels) <= MAX_OOF_ROWS:
        study._storage.set_study_system_attr(study._study_id, LABELS_KEY, [int(v) for v in labels])


def save_oof_scores(trial: optuna.Trial, scores: np.ndarray) -> None:
    """One score a row, or (rows x K) class scores as K a row; None for a row that is not finite."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) > MAX_OOF_ROWS or scores.size > MAX_OOF_VALUES:
        return
    if scores.ndim == 1:
        values = [round(float(s), 4) if math.isfinite(s) else None for s in scores]
    else:
        values = [[round(float(v), 4) for v in row] if np.all(np.isfinite(row)) else None for row in scores]
    trial.storage.set_trial_system_attr(trial._trial_id, SCORES_KEY, values)


def oof_labels(study: optuna.Study) -> np.ndarray | None:
    labels = study._storage.get_study_system_attrs(study._study_id).get(LABELS_KEY)
    return None if labels is None else np.asarray(labels, dtype=np.int8)


def oof_scores(trial: optuna.trial.FrozenTrial) -> np.ndarray | None:
    """The trial's out-of-fold scores in manifest row order (rows, or rows x K), NaN where a fold diverged; None
    if not kept."""
    scores = trial.system_attrs.get(SCORES_KEY)
    if scores is None:
        return None
    width = next((len(s) for s in scores if isinstance(s, list)), None)
    if width is None:
        return np.array([np.nan if s is None else s for s in scores], dtype=np.float64)
    return np.array([[np.nan] * width if s is None else s for s in scores], dtype=np.float64)
