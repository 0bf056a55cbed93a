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


def below_chance_reason(labels: np.ndarray, scores: np.ndarray) -> str | None:
    """The flag's sentence when the scored rows' AUC is below 0.5 beyond chance (p < ALPHA), else None."""
    scored = np.isfinite(scores)
    labels, scores = np.asarray(labels)[scored], np.asarray(scores)[scored]
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return None
    test = stats.mannwhitneyu(positives, negatives, alternative="less")
    auc = float(test.statistic) / (len(positives) * len(negatives))
    if auc >= 0.5 or test.pvalue >= ALPHA:
        return None
    return (f"below chance: out-of-fold AUC {auc:.3f} over {len(scores)} rows (one-sided Mann-Whitney "
            f"p = {test.pvalue:.2g}): a training problem, or folds too small to rank, not a signal")


def is_below_chance(trial: optuna.trial.FrozenTrial) -> bool:
    return BELOW_CHANCE in trial.user_attrs
