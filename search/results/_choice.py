"""What `export` (and `result.export()`, `result.predict()`) take by default: what the verdict stands behind.

- fusion helped (on the fresh folds, and on held-out rows when there are any): the confirmed fusion candidate,
  a trial or the fusion ensemble;
- otherwise, once confirmed: the single modality that scored best on the fresh folds (a baseline's best trial or
  a single-modality ensemble);
- not confirmed yet: the best trial of the search (its lead is optimistic, and the line says so).

``--trial N`` and ``--ensemble SIDE`` choose for themselves. The choice carries one line saying what and why,
which `export` prints and writes into the record (key ``chosen``).
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from fusion_search._errors import UserError
from fusion_search.results._confirmation import describe
from fusion_search.results._record import ensemble_record, export_record
from fusion_search.results._verdict import compare
from fusion_search.study import Ensemble, chosen_trial, design_label, is_baseline_role, study_ensemble, study_ensembles


@dataclass(frozen=True)
class ExportChoice:
    """A trial number or an ensemble, and one line saying why it is the one exported."""

    trial: int | None
    ensemble: Ensemble | None
    reason: str
    by: str  # "verdict", "search" (no confirmation yet), "--trial" or "--ensemble"

    def record(self) -> dict:
        what = f"trial {self.trial}" if self.ensemble is None else self.ensemble.name
        return {"what": what, "by": self.by, "why": self.reason}


def export_choice(study: optuna.Study, trial: int | None = None, ensemble: str | None = None) -> ExportChoice:
    """The trial or ensemble to export: the one asked for, else the one the verdict stands behind."""
    if trial is not None and ensemble is not None:
        raise UserError("give --trial or --ensemble, not both")
    if trial is not None:
        return ExportChoice(chosen_trial(study, trial).number, None, f"trial {trial}, as asked (--trial)", "--trial")
    if ensemble is not None:
        return ExportChoice(None, study_ensemble(study, ensemble), f"the {ensemble} ensemble, as asked (--ensemble)",
                            "--ensemble")
    comparison = compare(study)
    if comparison.confirmed is None:
        best = chosen_trial(study, None)
        why = ("every baseline failed on the fresh folds, so nothing is confirmed" if comparison.failed_references
               else "the study is not confirmed yet")
        return ExportChoice(best.number, None, (
            f"{why}, so the search's best trial: {design_label(best)}, trial {best.number} "
            f"(mean AUC {best.value:.3f} in the search, an optimistic figure)"), "search")
    designs = study.user_attrs["confirmation"]["designs"]
    if comparison.helped:
        role, why = "fusion", "fusion helped, so the confirmed fusion candidate"
    else:
        role = max((r for r in designs if is_baseline_role(r) and designs[r]["mean_auc"] is not None),
                   key=lambda r: designs[r]["mean_auc"])  # None: every unit of that baseline failed twice
        why = "fusion was not confirmed, so the best single modality on the fresh folds"
    design = designs[role]
    reason = f"{why}: {describe(design)} (AUC {design['mean_auc']:.3f} on the fresh folds)"
    if design.get("trial") is not None:
        return ExportChoice(int(design["trial"]), None, reason, "verdict")
    return ExportChoice(None, _ensemble_of(study, role, design), reason, "verdict")


def choice_record(study: optuna.Study, choice: ExportChoice) -> dict:
    """The export record of the choice, with what was chosen and why (key ``chosen``)."""
    record = ensemble_record(study, choice.ensemble) if choice.ensemble else export_record(study, choice.trial)
    return {**record, "chosen": choice.record()}


def _ensemble_of(study: optuna.Study, role: str, design: dict) -> Ensemble:
    """The confirmed ensemble of a role ("fusion" or "ensemble:SIDE"), as the study's ensembles have it."""
    members = {int(n): int(w) for n, w in design["members"].items()}
    for ensemble in study_ensembles(study):
        if ensemble.members == members:
            return ensemble
    side = "fusion" if role == "fusion" else role.split(":", 1)[1]
    return Ensemble(side, members, None)  # not among today's ensembles: no out-of-fold AUC to give
