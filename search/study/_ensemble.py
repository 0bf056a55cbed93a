"""Ensembles of the study's trials: Caruana's greedy forward selection with replacement (Caruana, Niculescu-Mizil,
Crew & Ksikes 2004, "Ensemble selection from libraries of models") over the trials' out-of-fold scores.

The blend averages the members' logits, weighted by how often each was picked. Logits, not ranks: a rank is only
defined within a batch, and an exported ensemble must score one new row alone; averaging logits rather than
probabilities keeps a confident member from being drowned by calibrated ones.

Which modalities an ensemble uses decides its side of the verdict: one whose members all see only images (or only
numbers) is a baseline of that modality, one that mixes them is a fusion design, so ensembling alone never counts
as "fusion helped". The selection maximises the same out-of-fold AUC it reports, so that number is optimistic;
the confirmation trains the members again on fresh folds and judges the blend there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import optuna
from scipy.special import expit, logit, softmax

from fusion_search._errors import UserError
from fusion_search.designs import get_kind
from fusion_search.study._chance import is_below_chance
from fusion_search.study._oof import oof_labels, oof_scores
from fusion_search.study._summary import completed
from fusion_search.trainers import fold_auc

ROUNDS = 25  # picks (with replacement); the best-scoring prefix is kept
CANDIDATES = 20  # per side: the side's trials with the best out-of-fold AUC that may be picked
EDGE = 1e-6  # probabilities are clipped to [EDGE, 1 - EDGE] before their logits are taken


@dataclass(frozen=True)
class Ensemble:
    """Members (trial number -> times picked) and the blend's out-of-fold AUC (optimistic: it was maximised)."""

    side: str  # "image", "numeric" or "fusion": which modalities its members use together
    members: dict[int, int]
    oof_auc: float

    @property
    def name(self) -> str:
        return f"ensemble:{self.side}"


def blend(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted blend of members' probabilities: of the mean logit for one score per row (members x rows);
    for K classes (members x rows x K), the softmax of the mean log-probability, which for K = 2 is the same."""
    return _blend_transformed(_transformed(scores), weights)


def _transformed(scores) -> np.ndarray:
    """Logits of members' probabilities (members x rows), or log-probabilities (members x rows x K)."""
    scores = np.asarray(scores, dtype=float)
    return logit(np.clip(scores, EDGE, 1 - EDGE)) if scores.ndim == 2 else np.log(np.clip(scores, EDGE, 1.0))


def _blend_transformed(transformed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    mean = np.tensordot(weights / weights.sum(), transformed, axes=1)
    return expit(mean) if transformed.ndim == 2 else softmax(mean, axis=-1)


def greedy_selection(scores: np.ndarray, labels: np.ndarray, rounds: int = ROUNDS) -> tuple[Counter, float]:
    """(times each candidate is picked, the blend's AUC): each round adds the candidate whose addition gives the
    highest AUC (ties: the lower index); the prefix of rounds with the best AUC is kept. AUC: the binary AUC, or
    for K classes the macro one-vs-rest AUC."""
    picks, best, best_auc = Counter(), Counter(), -1.0
    transformed = _transformed(scores)  # once: each blend only reweights them
    for _ in range(rounds):
        aucs = [fold_auc(labels, _blend_transformed(transformed, _weights(picks + Counter([c]), len(transformed))))
                for c in range(len(transformed))]
        choice = int(np.argmax(aucs))
        picks[choice] += 1
        if aucs[choice] > best_auc + 1e-12:
            best, best_auc = Counter(picks), float(aucs[choice])
    return best, best_auc


def _weights(picks: Counter, n: int) -> np.ndarray:
    return np.array([picks.get(i, 0) for i in range(n)], dtype=float)


def side_of(fusions: set[str]) -> str:
    """'image' or 'numeric' when every member sees only that modality, else 'fusion'."""
    if all(get_kind(f).uses_image and not get_kind(f).uses_numeric for f in fusions):
        return "image"
    if all(get_kind(f).uses_numeric and not get_kind(f).uses_image for f in fusions):
        return "numeric"
    return "fusion"


def study_ensembles(study: optuna.Study) -> list[Ensemble]:
    """One ensemble per side that has at least two candidate trials: the image-only trials, the numeric-only
    trials (networks and trees), and all trials together (reported as fusion only if it mixes modalities)."""
    labels = oof_labels(study)
    if labels is None:
        return []
    searched = labels >= 0
    pool = [t for t in sorted(completed(study), key=lambda t: -t.user_attrs.get("oof_auc", 0))
            if (s := oof_scores(t)) is not None and np.all(np.isfinite(s[searched])) and not is_below_chance(t)]
    found = []
    for side in ("image", "numeric", "fusion"):
        candidates = side_candidates(pool, side)
        if len(candidates) < 2:
            continue
        scores = np.array([oof_scores(t)[searched] for t in candidates])
        picks, auc = greedy_selection(scores, labels[searched])
        members = {candidates[i].number: n for i, n in sorted(picks.items())}
        actual = side_of({study.trials[number].user_attrs["fusion"] for number in members})
        if len(members) > 1 and actual == side:  # one member is that trial, and a mixed pick must really mix
            found.append(Ensemble(side, members, round(auc, 6)))
    return found


def side_candidates(ranked: list[optuna.trial.FrozenTrial], side: str) -> list[optuna.trial.FrozenTrial]:
    """The CANDIDATES best trials (ranked best first) of one side's own pool: its single-modality trials for
    "image" and "numeric", every trial for "fusion". Each side draws from its own trials, not from the overall
    top few: otherwise a study whose best trials all use both inputs has a fusion ensemble but no image-only one
    to judge it against."""
    return [t for t in ranked if side == "fusion" or side_of({t.user_attrs["fusion"]}) == side][:CANDIDATES]


def study_ensemble(study: optuna.Study, side: str) -> Ensemble:
    """The study's ensemble of one side (image, numeric or fusion); a one-line error when it has none."""
    found = {e.side: e for e in study_ensembles(study)}
    if side not in found:
        raise UserError(f"study '{study.study_name}' has no {side} ensemble (ensembles: "
                        f"{', '.join(sorted(found)) or 'none'}; an ensemble needs two trials it gains from blending)")
    return found[side]
