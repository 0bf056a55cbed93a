"""The confirmation's scores per role, from its units: a single trial's fold AUC is its unit's; an ensemble's is the
AUC of its members' blended scores on the same fresh fold. Written into the study when every unit is complete."""

from __future__ import annotations

import numpy as np
import optuna

from fusion_search.storage import retry_storage, storage_url
from fusion_search.study._ensemble import blend
from fusion_search.study._summary import design_label
from fusion_search.trainers import fold_auc

SCORES_KEY = "fusion_search:unit_scores"  # unit trial system attr: {"labels": [...], "scores": [...]}
HOLDOUT_KEY = "fusion_search:holdout_scores"  # study system attr per role (and "labels"): held-out rows' scores
HOLDOUT = -1  # repeat and fold of a unit that trains on every search row and scores the held-out rows


def summarize(study: optuna.Study, companion: optuna.Study) -> dict | None:
    """When every unit is complete: the confirmation scores, written into the study (idempotent)."""
    wanted = companion.user_attrs["plan"]
    done = {(t.user_attrs["trial"], t.user_attrs["repeat"], t.user_attrs["fold"]): t.system_attrs[SCORES_KEY]
            for t in companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))}
    if len(done) < len(wanted["units"]):
        return None
    summary = {"repeats": wanted["repeats"], "folds": wanted["folds"], "search_trials": wanted["search_trials"],
               "designs": {}}
    for role, weights in wanted["roles"].items():
        members = {int(number): weight for number, weight in weights.items()}
        aucs = [_blend_auc(done, members, repeat, fold)[0]
                for repeat in range(wanted["repeats"]) for fold in range(wanted["folds"])]
        holdout = _blend_auc(done, members, HOLDOUT, HOLDOUT) if (next(iter(members)), HOLDOUT, HOLDOUT) in done else None
        summary["designs"][role] = {
            "trial": next(iter(members)) if len(members) == 1 else None, "members": members,
            "fusion": _name(study, members), "aucs": [round(a, 6) for a in aucs],
            "mean_auc": round(float(np.mean(aucs)), 6), "holdout_auc": round(holdout[0], 6) if holdout else None}
        if holdout:
            _save(study, role, holdout[2])
            _save(study, "labels", holdout[1])
    retry_storage(lambda: study.set_user_attr("confirmation", summary), storage_url(study._storage))
    return summary


def _blend_auc(done: dict, members: dict[int, int], repeat: int, fold: int) -> tuple[float, list, list]:
    """(AUC, labels, scores) of the members' blend on one fresh fold (the members scored the same rows)."""
    parts = [done[(number, repeat, fold)] for number in members]
    labels = np.asarray(parts[0]["labels"])
    scores = blend(np.array([p["scores"] for p in parts]), np.array(list(members.values()))) if len(parts) > 1 \
        else np.asarray(parts[0]["scores"])
    return fold_auc(labels, scores), labels.tolist(), [float(s) for s in scores]


def _name(study: optuna.Study, members: dict[int, int]) -> str:
    names = [design_label(study.trials[number]) for number in members]
    if len(names) == 1:
        return names[0]
    return "ensemble of " + ", ".join(f"{name} (trial {n}{f' x{w}' if w > 1 else ''})"
                                      for name, (n, w) in zip(names, members.items()))


def _save(study: optuna.Study, role: str, values: list) -> None:
    study._storage.set_study_system_attr(study._study_id, f"{HOLDOUT_KEY}:{role}", values)


def holdout_scores(study: optuna.Study, role: str) -> np.ndarray | None:
    """The held-out rows' scores of a confirmed role, or their labels for role "labels" (None without a holdout)."""
    scores = study._storage.get_study_system_attrs(study._study_id).get(f"{HOLDOUT_KEY}:{role}")
    return None if scores is None else np.asarray(scores, dtype=float)
