"""The Python API: search a DataFrame or a manifest, read the answer, export the winner, score new rows.

    result = fusion_search.search(frame, image_column="photo", label_column="sick", space="quick", trials=30)
    result.verdict.headline        # does fusion beat the best single modality, and is it more than fold noise?
    result.export("best.keras")    # the best design retrained on all rows (.fusion for tree designs; .json record)
    result.predict(new_frame)      # its scores for new rows

The CLI's run, demo, export and predict call the same functions.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search._progress import RichProgress
from fusion_search.data import ManifestSpec, Table, prepare_data, read_table
from fusion_search.designs import Design, baseline_fusions
from fusion_search.results import Comparison, ExportChoice, choice_record, compare, export_choice, record_text
from fusion_search.spaces import Space
from fusion_search.storage import resolve_storage_url, write_text_atomically
from fusion_search.study import (
    RunSettings, SilentProgress, best_per_fusion, chosen_trial, chosen_trials, confirmation_setup,
    load_existing_study, require_confirmation_flags, run_search, trial_design,
)
from fusion_search.study import chosen_space, study_heartbeat
from fusion_search.study import confirm as confirm_study

RECORD_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


@dataclass(frozen=True)
class DesignScore:
    """One trial's design and its cross-validated scores."""

    fusion: str
    trial: int
    mean_auc: float
    std_auc: float
    fold_aucs: tuple[float | None, ...]
    design: Design

    @classmethod
    def of(cls, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> "DesignScore":
        aucs = tuple(trial.user_attrs.get("fold_aucs", []))
        done = [a for a in aucs if a is not None]
        return cls(trial.user_attrs.get("fusion", trial.params.get("fusion")), trial.number, trial.value,
                   trial.user_attrs.get("std_auc", statistics.pstdev(done) if done else float("nan")), aucs,
                   trial_design(study, trial))


@dataclass
class SearchResult:
    """A study with the rows it searched, so its best design can be retrained, exported and used."""

    study: optuna.Study
    table: Table
    spec: ManifestSpec
    _model: Any = field(default=None, repr=False)

    @property
    def best(self) -> DesignScore:
        """The best complete trial of any design, baselines included."""
        return DesignScore.of(self.study, chosen_trial(self.study, None))

    @property
    def baselines(self) -> dict[str, DesignScore | None]:
        """Each single-modality baseline's best complete trial (None until one has completed)."""
        best = best_per_fusion(self.study)
        return {name: DesignScore.of(self.study, best[name]) if name in best else None for name in baseline_fusions()}

    @property
    def verdict(self) -> Comparison:
        """The best fusion design against the best baseline, paired by fold; ``.headline`` says it in words."""
        return compare(self.study)

    def export(self, path: str | Path, trial: int | None = None, ensemble: str | None = None) -> dict:
        """Write what the verdict stands behind (``choice``), or a chosen trial, or the study's ensemble of a side
        ("fusion", "image", "numeric"): a record (.json, .yaml), or retrained on all rows (.keras; a .fusion folder
        for tree and stacking designs; a .ensemble folder for an ensemble); "chosen" says what and why. Returns what
        was written."""
        path = Path(path)
        choice = export_choice(self.study, trial, ensemble)
        if path.suffix in RECORD_SUFFIXES:
            record = choice_record(self.study, choice)
            write_text_atomically(path, record_text(record, RECORD_SUFFIXES[path.suffix]))
            return record
        from fusion_search import serving  # Keras loads only when a model is exported

        written = serving.export_chosen(self.study, choice, self.table, path, self.spec)
        return {**written, "chosen": choice.record()}

    @property
    def choice(self) -> ExportChoice:
        """What the verdict stands behind, and why: the confirmed fusion candidate when fusion helped, else the
        single modality that scored best on the fresh folds (before the confirmation: the search's best trial)."""
        return export_choice(self.study)

    def predict(self, data: Any, base_dir: str | Path | None = None) -> np.ndarray:
        """Scores of new rows (a DataFrame or a manifest path) by ``choice`` retrained on all searched rows.
        A DataFrame's relative image paths start at base_dir, by default where the searched rows' did."""
        from fusion_search.serving import retrain_chosen, score_table, study_rows

        if self._model is None:
            self._model = retrain_chosen(self.study, self.choice, study_rows(self.study, self.table, self.spec))
        table = read_table(data, Path(base_dir) if base_dir is not None else self.table.base)
        return score_table(self._model, table, self.spec.image_column)


Columns = list[str] | tuple[str, ...] | None


def search(data: Any, *, image_column: str = "image", label_column: str = "label", numeric_columns: Columns = None,
           group_column: str | None = None, positive: str | None = None, categorical_columns: Columns = None,
           ignore_columns: Columns = None, space: str | Path | Space = "auto", trials: int = 20,
           study: str | None = None, storage: str | None = None, folds: int = 5, seed: int = 0,
           prune_p: float = 0.3, timeout: float | None = None, existing: bool = False, heartbeat: int | None = None,
           baseline_trials: int | None = None, confirm_repeats: int | None = None, confirm_folds: int | None = None,
           holdout: float = 0.0,
           base_dir: str | Path | None = None, progress: bool | SilentProgress = False) -> SearchResult:
    """Search fusion designs on a pandas DataFrame or a manifest CSV path, then confirm the winners on fresh
    folds; resumes a study of the same name.

    ``base_dir``: where a DataFrame's relative image paths start (default: the working directory).
    ``study``: default ``search-`` + the data's fingerprint. ``storage``: default $FUSION_SEARCH_STORAGE,
    else sqlite:///fusion-search.db. The other arguments are the CLI's `run` flags."""
    _require_positive("trials", trials)
    require_confirmation_flags(confirm_repeats, confirm_folds)
    table = read_table(data, Path(base_dir) if base_dir is not None else None)
    spec = _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
                 ignore_columns)
    space = chosen_space(space, study, storage)  # auto: the study's own space, else default on a GPU, balanced on a CPU
    prepared = prepare_data(table, folds, seed, image_sizes=space.image_sizes, spec=spec, holdout=holdout)
    settings = RunSettings(study=study or f"search-{prepared.manifest.fingerprint[:8]}",
                           storage=resolve_storage_url(storage), trials=trials, timeout=timeout, seed=seed,
                           create=not existing, heartbeat=heartbeat, prune_p=prune_p, baseline_trials=baseline_trials,
                           confirm_repeats=confirm_repeats, confirm_folds=confirm_folds)
    with _watcher(progress, trials) as watcher:
        found = run_search(settings, prepared, space, watcher)
    return SearchResult(found, table, spec)


def confirm(study: str, data: Any, *, image_column: str = "image", label_column: str = "label",
            numeric_columns: Columns = None, group_column: str | None = None, positive: str | None = None,
            categorical_columns: Columns = None, ignore_columns: Columns = None, storage: str | None = None,
            repeats: int | None = None, folds: int | None = None,
            base_dir: str | Path | None = None, progress: bool | SilentProgress = False) -> SearchResult:
    """Confirm (or resume confirming) an existing study's winners on fresh folds of its data (the same rows
    and column choices as its search: checked by the data's fingerprint)."""
    found = load_existing_study(study, storage)
    attrs = found.user_attrs
    table = read_table(data, Path(base_dir) if base_dir is not None else None)
    spec = _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
                 ignore_columns)
    prepared = prepare_data(table, attrs["folds"], attrs["fold_seed"], spec=spec,
                            holdout=attrs.get("holdout_fraction", 0.0))
    if prepared.manifest.fingerprint != attrs.get("data_fingerprint"):
        raise UserError(f"this data is not the data study '{study}' was searched on (fingerprint "
                        f"{prepared.manifest.fingerprint}, study has {attrs.get('data_fingerprint')}); use the same "
                        "manifest and column flags")
    chosen = chosen_trials(found)
    if "fusion" not in chosen or len(chosen) < 2:
        raise UserError(f"study '{study}' has no fusion design and no baseline scored on every fold to confirm yet")
    repeats, folds = confirmation_setup(found, prepared, repeats, folds)
    with _watcher(progress, repeats) as watcher:
        confirm_study(found, prepared, repeats, int(attrs.get("seed", 0)), watcher, folds, study_heartbeat(found))
    return SearchResult(found, table, spec)


def _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
          ignore_columns) -> ManifestSpec:
    def names(columns: Columns) -> tuple[str, ...] | None:
        return tuple(columns) if columns is not None else None

    return ManifestSpec(image_column, label_column, names(numeric_columns), group_column,
                        None if positive is None else str(positive), names(categorical_columns),
                        names(ignore_columns) or ())


def _watcher(progress: bool | SilentProgress, total: int) -> SilentProgress:
    if isinstance(progress, SilentProgress):
        return progress
    return RichProgress(total) if progress else SilentProgress()


def _require_positive(name: str, value: int) -> None:
    if value < 1:
        raise UserError(f"{name} must be at least 1, got {value}")
