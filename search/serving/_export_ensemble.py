"""`export --model NAME.ensemble --ensemble SIDE`: an ensemble's members retrained on ALL the data, saved in one
folder that `predict` scores with the same logit blend the selection used.

The folder (built in a hidden sibling folder, then renamed into place): ``ensemble.json`` (format, version, the
side, and each member's trial number, weight and part name), and one part per member, ``member_<trial>.keras``
or ``member_<trial>.fusion`` (a tree or stacking design's folder). Opening it runs no stored code: the JSON is
read with ``json``, the parts are opened as `predict` opens any export (safe-mode Keras, arrays without pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from fusion_search._errors import UserError
from fusion_search.data import ManifestSpec
from fusion_search.designs import get_kind
from fusion_search.serving._export import retrain, save_model, study_rows
from fusion_search.serving._folder import folder_built_beside
from fusion_search.serving._provenance import KEY, provenance
from fusion_search.study import Ensemble

SUFFIX = ".ensemble"
FORMAT, VERSION = "fusion-search-ensemble", 1


@dataclass(frozen=True)
class EnsembleModel:
    """Retrained members and their weights; their scores are blended by weighted mean logit."""

    side: str
    members: tuple[tuple[int, Any, int], ...]  # (trial number, model, weight)


def export_ensemble(study: optuna.Study, ensemble: Ensemble, data: Any, path: Path,
                    spec: ManifestSpec = ManifestSpec()) -> dict:
    """Retrain every member on the manifest (checked against the study) and save the folder; return a summary."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise UserError(f"an ensemble is saved as a folder ending in {SUFFIX}, e.g. {path.with_suffix(SUFFIX).name}")
    if not path.parent.is_dir():
        raise UserError(f"output folder does not exist: {path.parent}")
    if path.exists() and not (path / "ensemble.json").is_file():
        raise UserError(f"{path} exists and is not an ensemble folder; not replacing it")
    manifest = study_rows(study, data, spec)
    with folder_built_beside(path) as partial:
        parts = []
        for number, weight in ensemble.members.items():
            trial = study.trials[number]
            part = f"member_{number}{'.keras' if get_kind(trial.user_attrs['fusion']).neural else '.fusion'}"
            save_model(retrain(study, trial, manifest), partial / part, study, trial)
            parts.append({"trial": number, "weight": weight, "part": part, "fusion": trial.user_attrs["fusion"]})
        meta = {"format": FORMAT, "version": VERSION, "study": study.study_name, "side": ensemble.side,
                "oof_auc": ensemble.oof_auc, "members": parts, KEY: provenance(manifest, spec)}
        (partial / "ensemble.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {"path": str(path), "side": ensemble.side, "rows": manifest.rows, "members": parts}


def load_ensemble(path: Path, load_part) -> EnsembleModel:
    """Open an ensemble folder (load_part opens one member's part); UserError for a folder that is not one."""
    try:
        meta = json.loads((Path(path) / "ensemble.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise UserError(f"format {meta.get('format')!r} version {meta.get('version')!r}; "
                            f"this fusion-search reads {FORMAT!r} version {VERSION}")
        members = []
        for member in meta["members"]:
            part = Path(path) / Path(str(member["part"])).name  # a name, never a path out of the folder
            members.append((int(member["trial"]), load_part(part), int(member["weight"])))
    except UserError:
        raise
    except Exception as error:  # a damaged folder: one line naming it, never a traceback
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"cannot load ensemble folder {path}: {reason[:200]}") from None
    return EnsembleModel(str(meta["side"]), tuple(members))
