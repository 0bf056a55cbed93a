"""The below-chance guard: a design whose out-of-fold scores rank the classes the wrong way round, by more than
chance allows, learned a training artefact (a prior-fitting epoch, a sign flip), not an inverse signal: nothing
about the data makes a trained model worse than a coin. On a few dozen rows cross-validation itself can rank
below chance (bench/results/small_data_trees.md: a logistic regression on 80 rows, 3 folds, scored 0.38 and was
flagged), so the sentence names both causes. Such a trial is flagged (user attr ``below_chance``), never
joins an ensemble, and the verdict says when a baseline it compares against carries the flag.

The test is SciPy's one-sided Mann-Whitney U on the pooled out-of-fold scores (AUC = U / (m n), so "positives score
lower than negatives" is exactly "AUC below 0.5"), at ALPHA."""

from __future__ import annotations

import numpy as np
import optuna
from scipy import stats

ALPHA = 0.05
BELOW_CHANCE = "below_chance"  # trial user attr: the flag's sentence


def below_chance_reason(labels: np.ndarray, scores: np.ndarray, class_names: tuple[str, ...] = ()) -> str | None:
    """The flag's sentence when the scored rows' AUC is below 0.5 beyond chance (p < ALPHA), else None. Scores of
    K >= 3 classes (rows, K): each class's one-vs-rest AUC is tested, at ALPHA / K (Bonferroni), and the sentence
    names the class."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    scored = np.isfinite(scores) if scores.ndim == 1 else np.isfinite(scores).all(axis=1)
    labels, scores = labels[scored], scores[scored]
    if scores.ndim == 1:
        return _one_side(scores[labels == 1], scores[labels == 0], ALPHA, len(scores), "")
    for c in range(scores.shape[1]):
        name = class_names[c] if c < len(class_names) else str(c)
        if reason := _one_side(scores[labels == c, c], scores[labels != c, c], ALPHA / scores.shape[1],
                               len(scores), f"class {name!r} against the rest: "):
            return reason
    return None


def _one_side(positives: np.ndarray, negatives: np.ndarray, alpha: float, rows: int, which: str) -> str | None:
    if not len(positives) or not len(negatives):
        return None
    test = stats.mannwhitneyu(positives, negatives, alternative="less")
    auc = float(test.statistic) / (len(positives) * len(negatives))
    if auc >= 0.5 or test.pvalue >= alpha:
        return None
    return (f"below chance: {which}out-of-fold AUC {auc:.3f} over {rows} rows (one-sided Mann-Whitney "
            f"p = {test.pvalue:.2g}): a training problem, or folds too small to rank, not a signal")


def is_below_chance(trial: optuna.trial.FrozenTrial) -> bool:
    return BELOW_CHANCE in trial.user_attrs
