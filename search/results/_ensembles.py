"""The study's ensembles as rows for the leaderboard and the report: members, out-of-fold AUC, fresh folds."""

from __future__ import annotations

import optuna

from fusion_search.study import study_ensembles


def ensemble_rows(study: optuna.Study) -> list[dict]:
    """One row per ensemble: its name (a single-modality one marked as a baseline), members, out-of-fold AUC of
    the blend (optimistic: the selection maximised it) and its mean AUC on the fresh folds when confirmed."""
    confirmed = study.user_attrs.get("confirmation", {}).get("designs", {}).values()
    fresh = {tuple(sorted(map(int, d["members"]))): d["mean_auc"] for d in confirmed if len(d.get("members", {})) > 1}
    rows = []
    for ensemble in study_ensembles(study):
        members = ", ".join(f"{study.trials[n].user_attrs.get('fusion')} #{n}" + (f" x{w}" if w > 1 else "")
                            for n, w in ensemble.members.items())
        rows.append({"name": ensemble.name + ("" if ensemble.side == "fusion" else " (baseline)"),
                     "members": members, "oof_auc": ensemble.oof_auc,
                     "fresh": fresh.get(tuple(sorted(ensemble.members)))})
    return rows
