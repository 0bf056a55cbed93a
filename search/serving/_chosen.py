"""The export the verdict chose (fusion_search.results.export_choice): one trial or an ensemble, exported or
retrained alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from fusion_search.data import Manifest, ManifestSpec
from fusion_search.serving._export import export_model, retrain
from fusion_search.serving._export_ensemble import EnsembleModel, export_ensemble


def export_chosen(study: optuna.Study, choice, data: Any, path: Path, spec: ManifestSpec = ManifestSpec()) -> dict:
    """Retrain the choice (``.trial`` or ``.ensemble``) on all rows and save it at path: a .keras file, a .fusion
    folder (tree or stacking design) or an .ensemble folder."""
    if choice.ensemble is not None:
        return export_ensemble(study, choice.ensemble, data, path, spec)
    return export_model(study, choice.trial, data, path, spec)


def retrain_chosen(study: optuna.Study, choice, manifest: Manifest):
    """The choice fit on every row of the manifest, ready for score_table."""
    if choice.ensemble is None:
        return retrain(study, study.trials[choice.trial], manifest)
    return EnsembleModel(choice.ensemble.side, tuple((number, retrain(study, study.trials[number], manifest), weight)
                                                     for number, weight in choice.ensemble.members.items()))
