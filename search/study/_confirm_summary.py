"""The confirmation's scores per role, from its units: a single trial's fold AUC is its unit's; an ensemble's is the
AUC of its members' blended scores on the same fresh fold. Written into the study when every unit is complete.
The shuffled controls (_control.py) are summarised apart from the roles, as ``summary["control"][modality]``
(CONTROL), so nothing that lists the confirmed designs mistakes one for a design.

A unit that failed twice (diverged or out of memory, UnitObjective) counts so that it can only make "fusion helped"
harder to claim: in a fusion candidate its fold scores chance (0.5, whichever member of a blend failed); in a
baseline role its fold has no AUC and is left out of every comparison with that baseline (fewer paired folds, less
power; a failed unit of the control counts the same way), and a baseline with no scored fold leaves nothing to confirm fusion against; a failed held-out unit leaves no
held-out test, which the verdict then cannot pass."""

from __future__ import annotations

import numpy as np
import optuna

from fusion_search.designs import baseline_fusions
from fusion_search.storage import retry_storage, storage_url
from fusion_search.study._control import CONTROL
from fusion_search.study._ensemble import blend
from fusion_search.study._summary import design_label
from fusion_search.trainers import fold_auc

SCORES_KEY = "fusion_search:unit_scores"  # unit trial system attr: {"labels", "scores"; held-out unit: "groups"}
HOLDOUT_KEY = "fusion_search:holdout_scores"  # study system attr per role (and "labels"): held-out rows' scores
HOLDOUT = -1  # repeat and fold of a unit that trains on every search row and scores the held-out rows
FAILED_KEY, RETRIED_KEY = "failed", "retried"  # unit trial user attrs: why it failed twice / once, then trained
CHANCE_AUC = 0.5  # a failed unit's trial value, and its fold's AUC in a fusion candidate


def is_baseline_role(role: str) -> bool:
    """A role the fusion candidate is compared with: a baseline design's best trial or a single-modality
    ensemble."""
    return role in baseline_fusions() or role in {f"ensemble:{side}" for side in ("image", "numeric")}


def summarize(study: optuna.Study, companion: optuna.Study) -> dict | None:
    """When every unit is complete: the confirmation scores, written into the study (idempotent)."""
    wanted = companion.user_attrs["plan"]
    units = {(t.user_attrs["trial"], t.user_attrs["repeat"], t.user_attrs["fold"], t.user_attrs.get("shuffled", "")): t
             for t in companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))}
    if len(units) < len(wanted["units"]):
        return None
    done = {key: unit.system_attrs[SCORES_KEY] for key, unit in units.items()}
    classes = len(study.user_attrs.get("classes") or ()) or 2
    summary = {"repeats": wanted["repeats"], "folds": wanted["folds"], "search_trials": wanted["search_trials"],
               "designs": {}, "failed_units": _unit_notes(units, FAILED_KEY),
               "retried_units": _unit_notes(units, RETRIED_KEY)}
    if "looks" in wanted:  # a two-look confirmation: which look this is, and the second look's baseline
        summary["looks"] = wanted["looks"]
        summary["look"] = 2 if wanted.get("second_look") else 1
        if wanted.get("second_look"):
            summary["second_look"] = wanted["second_look"]
    for role, weights in wanted["roles"].items():
        members = {int(number): weight for number, weight in weights.items()}
        baseline = is_baseline_role(role)
        summary["designs"][role] = _fresh_fold_scores(study, done, wanted, members, baseline, classes)
        first = (next(iter(members)), HOLDOUT, HOLDOUT, "")
        holdout = _blend_auc(done, members, HOLDOUT, HOLDOUT, baseline, classes) if first in done else None
        scored = holdout is not None and not holdout[3]
        summary["designs"][role]["holdout_auc"] = round(holdout[0], 6) if scored else None
        if holdout is not None:  # this confirmation's scores, or none: never a previous confirmation's
            _save(study, role, holdout[2] if scored else None)
        if scored:
            _save(study, "labels", holdout[1])
            _save(study, "groups", done[first].get("groups"))
        elif holdout:
            summary["designs"][role]["holdout_failed"] = True
    members = {int(number): weight for number, weight in wanted["roles"]["fusion"].items()}
    summary[CONTROL] = {  # per modality: the fusion candidate's members, the shuffled ones from their shuffled units
        modality: {**_fresh_fold_scores(study, done, wanted, members, True, classes, dict.fromkeys(shuffled, modality)),
                   "modality": modality, "shuffled": shuffled}
        for modality, shuffled in wanted[CONTROL].items()}
    retry_storage(lambda: study.set_user_attr("confirmation", summary), storage_url(study._storage))
    return summary


def _fresh_fold_scores(study: optuna.Study, done: dict, wanted: dict, members: dict[int, int], baseline: bool,
                       classes: int, shuffled: dict[int, str] | None = None) -> dict:
    """A role's entry without its held-out AUC: its fold-by-fold AUCs on the fresh folds and their mean."""
    shuffled = shuffled or {}
    repeats = wanted["repeats"]  # and the second look's repeats where every member trained on them
    while all((n, repeats, 0, shuffled.get(n, "")) in done for n in members):
        repeats += 1
    aucs = [_blend_auc(done, members, repeat, fold, baseline, classes, shuffled)[0]
            for repeat in range(repeats) for fold in range(wanted["folds"])]
    scored = [a for a in aucs if a is not None]
    return {"trial": next(iter(members)) if len(members) == 1 else None, "members": members,
            "fusion": _name(study, members), "repeats": repeats,
            "aucs": [None if a is None else round(a, 6) for a in aucs],
            "mean_auc": round(float(np.mean(scored)), 6) if scored else None}


def _unit_notes(units: dict, key: str) -> list[dict]:
    """The units with that user attr (failed / retried): which trial, repeat and fold (and what the control
    shuffled), and why."""
    return [{"trial": trial, "repeat": repeat, "fold": fold, **({"shuffled": shuffled} if shuffled else {}),
             "why": unit.user_attrs[key]}
            for (trial, repeat, fold, shuffled), unit in sorted(units.items()) if key in unit.user_attrs]


def _blend_auc(done: dict, members: dict[int, int], repeat: int, fold: int, baseline: bool = False,
               classes: int = 2, shuffled: dict[int, str] | None = None) -> tuple[float | None, list, list | None, bool]:
    """(AUC, labels, scores, whether a member's unit failed) of the members' blend on one fresh fold (the members
    scored the same rows; ``shuffled``: member -> the modality its units shuffled, for the control). A failed
    member makes the whole fold count against its role: chance (0.5, every row the same score: 0.5, or 1/K for
    each of K classes) for a fusion candidate, since blending the rest would simply drop the member; no AUC (None)
    for a baseline (and for the control, a reference too)."""
    shuffled = shuffled or {}
    parts = [done[(number, repeat, fold, shuffled.get(number, ""))] for number in members]
    labels = np.asarray(parts[0]["labels"])
    if any(p["scores"] is None for p in parts):
        chance = [CHANCE_AUC] * len(labels) if classes == 2 else np.full((len(labels), classes), 1 / classes).tolist()
        return (None, labels.tolist(), None, True) if baseline else (CHANCE_AUC, labels.tolist(), chance, True)
    member_scores = np.array([p["scores"] for p in parts], dtype=float)
    scores = blend(member_scores, np.array(list(members.values()))) if len(parts) > 1 else member_scores[0]
    return fold_auc(labels, scores), labels.tolist(), scores.tolist(), False


def _name(study: optuna.Study, members: dict[int, int]) -> str:
    names = [design_label(study.trials[number]) for number in members]
    if len(names) == 1:
        return names[0]
    return "ensemble of " + ", ".join(f"{name} (trial {n}{f' x{w}' if w > 1 else ''})"
                                      for name, (n, w) in zip(names, members.items()))


def _save(study: optuna.Study, role: str, values: list) -> None:
    study._storage.set_study_system_attr(study._study_id, f"{HOLDOUT_KEY}:{role}", values)


def holdout_scores(study: optuna.Study, role: str, text: bool = False) -> np.ndarray | None:
    """The held-out rows' scores of a confirmed role ((rows,) or (rows, K)), their labels for role "labels", or
    their groups (text) for role "groups"; None without a holdout (or groups)."""
    scores = study._storage.get_study_system_attrs(study._study_id).get(f"{HOLDOUT_KEY}:{role}")
    return None if scores is None else np.asarray(scores, dtype=str if text else float)
