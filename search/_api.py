"""The Python API: search a DataFrame or a manifest, read the answer, export the winner, score new rows.

    result = fusion_search.search(frame, image_column="photo", label_column="sick", space="quick", trials=30)
    result.verdict.headline        # does fusion beat the best single modality, and is it more than fold noise?
    result.export("best.keras")    # the best design retrained on all rows (.fusion for tree designs; .json record)
    result.predict(new_frame)      # its scores for new rows

The CLI's run, demo, export and predict call the same functions.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search._progress import RichProgress
from fusion_search.data import ManifestSpec, Table, merge_groups, prepare_data, read_table
from fusion_search.designs import Design, baseline_fusions
from fusion_search.results import (
    Comparison, ExportChoice, choice_record, compare, export_choice, leaderboard_html, leaderboard_rows,
    publish_to_dashboard, record_text, second_look_baseline, state_line, upload_model,
)
from fusion_search.spaces import Space
from fusion_search.storage import require_reachable, resolve_storage_url, write_text_atomically
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

    def __repr__(self) -> str:
        return (f"<DesignScore {self.fusion}, trial {self.trial}: AUC {self.mean_auc:.3f} ± {self.std_auc:.3f} over "
                f"{sum(a is not None for a in self.fold_aucs)} folds>")

    def _repr_html_(self) -> str:
        folds = " ".join("-" if a is None else f"{a:.3f}" for a in self.fold_aucs)
        return (f"<p><b>{html.escape(self.fusion)}</b>, trial {self.trial}: mean AUC {self.mean_auc:.3f} ± "
                f"{self.std_auc:.3f}; fold AUCs {folds}</p>")


@dataclass
class SearchResult:
    """A study with the rows it searched, so its best design can be retrained, exported and used."""

    study: optuna.Study
    table: Table
    spec: ManifestSpec
    _model: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        verdict = self.verdict.headline.split(":")[0]  # the headline's first words: "Fusion helped on this data"
        return f"<SearchResult study '{self.study.study_name}' ({state_line(self.study)}): {verdict}>"

    def _repr_html_(self) -> str:
        """The study's state, the leaderboard and the headline, as `fusion-search status` shows them."""
        return leaderboard_html(self.study)

    def leaderboard(self) -> list[dict]:
        """The leaderboard as rows, numbers as numbers (``pandas.DataFrame(result.leaderboard())``): each design's
        best trial, the ensembles and the designs whose every trial was pruned."""
        return leaderboard_rows(self.study)

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

    def export(self, path: str | Path, trial: int | None = None, ensemble: str | None = None,
               artifact_dir: str | Path | None = None) -> dict:
        """Write what the verdict stands behind (``choice``), or a chosen trial, or the study's ensemble of a side
        ("fusion", "image", "numeric"): a record (.json, .yaml), or retrained on all rows (.keras; a .fusion folder
        for tree and stacking designs; a .ensemble folder for an ensemble); "chosen" says what and why. A model is
        also uploaded to the study's artifacts, which `fusion-search dashboard` serves (``artifact_dir``: default
        $FUSION_SEARCH_ARTIFACTS, else a folder under the cache for a SQLite study). Returns what was written."""
        path = Path(path)
        choice = export_choice(self.study, trial, ensemble)
        if path.suffix in RECORD_SUFFIXES:
            record = choice_record(self.study, choice)
            write_text_atomically(path, record_text(record, RECORD_SUFFIXES[path.suffix]))
            return record
        from fusion_search import serving  # Keras loads only when a model is exported

        written = serving.export_chosen(self.study, choice, self.table, path, self.spec)
        return {**written, "chosen": choice.record(), "artifact": upload_model(self.study, path, artifact_dir)}

    @property
    def classes(self) -> tuple[str, ...]:
        """The class of each column of ``predict``'s scores when the label has K >= 3 classes (sorted, after
        merges); () for two classes, where ``predict`` gives one score a row (the positive class's probability)."""
        return tuple(str(name) for name, _ in self.study.user_attrs.get("classes") or ())

    @property
    def choice(self) -> ExportChoice:
        """What the verdict stands behind, and why: the confirmed fusion candidate when fusion helped, else the
        single modality that scored best on the fresh folds (before the confirmation: the search's best trial)."""
        return export_choice(self.study)

    def predict(self, data: Any, base_dir: str | Path | None = None) -> np.ndarray:
        """Scores of new rows (a DataFrame or a manifest path) by ``choice`` retrained on all searched rows: the
        positive class's probability a row, or for K classes (rows, K) probabilities, a column per ``classes``.
        A DataFrame's relative image paths start at base_dir, by default where the searched rows' did."""
        from fusion_search.serving import retrain_chosen, score_table, study_rows

        if self._model is None:
            self._model = retrain_chosen(self.study, self.choice, study_rows(self.study, self.table, self.spec))
        table = read_table(data, Path(base_dir) if base_dir is not None else self.table.base)
        return score_table(self._model, table, self.spec.image_column)


Columns = list[str] | tuple[str, ...] | None
Merges = str | list[str | Sequence[str]] | tuple[str | Sequence[str], ...] | None


def search(data: Any, *, image_column: str = "image", label_column: str = "label", numeric_columns: Columns = None,
           group_column: str | None = None, positive: str | None = None, merge_classes: Merges = None,
           categorical_columns: Columns = None, ignore_columns: Columns = None, space: str | Path | Space = "auto", trials: int = 20,
           study: str | None = None, storage: str | None = None, folds: int = 5, seed: int = 0,
           prune_p: float = 0.3, timeout: float | None = None, existing: bool = False, heartbeat: int | None = None,
           baseline_trials: int | None = None, confirm_repeats: int | None = None, confirm_folds: int | None = None,
           holdout: float = 0.0,
           base_dir: str | Path | None = None, progress: bool | SilentProgress = False) -> SearchResult:
    """Search fusion designs on a pandas DataFrame or a manifest CSV path, then confirm the winners on fresh
    folds; resumes a study of the same name. The keywords are the CLI's `run` flags.

    What the table is:
        data: a pandas DataFrame, or the path of a manifest CSV (one row per sample).
        image_column: the column of image paths ("image").
        label_column: the column of the label ("label"); with K >= 3 classes (and no ``positive``) the study is
            a K-class one, scored by the macro one-vs-rest AUC.
        positive: the label value of the positive class, scored against every other class (default: 1 of 0/1,
            True of False/True).
        merge_classes: groups of label values that count as one class, named "a+b": "a,b", ["a,b", "c,d"] or
            [("a", "b")].
        numeric_columns: the numeric features; given, the features are these and ``categorical_columns`` (default:
            every other column, numeric when most of its cells are numbers, else categorical).
        categorical_columns: columns that are categories even if they hold numbers (e.g. site codes).
        ignore_columns: columns that are no features.
        group_column: samples of one group (e.g. a patient) are never split across folds.
        base_dir: where a DataFrame's relative image paths start (default: the working directory).

    How hard to search:
        space: a shipped space's name, a YAML path or a Space; "auto" (default): the study's own space when it
            exists, else "default" on a GPU and "balanced" on a CPU.
        trials: trials in the study in total, baselines included (20).
        folds: k of the k-fold cross-validation every trial is scored by (5).
        seed: seed of the folds, the sampler and training (0).
        prune_p: fold pruning stops a trial when a Wilcoxon test over its folds so far says it is worse than the
            best, at this p-value (0.3; 0: never).
        timeout: stop starting trials after this many seconds (default: none).
        baseline_trials: trials each single-modality baseline gets at least (default: max(3, 10% of trials)).
        confirm_repeats: fresh partitions the winners are trained on again once the study is full (default: about
            20% of the search's cost; 0: no confirmation, and no verdict).
        confirm_folds: folds of each fresh partition (default 10, fewer where the rows do not allow it).
        holdout: share of rows (stratified, whole groups) no trial sees, scored once by the confirmation (0.0).

    Where the study lives:
        study: its name (default: ``search-`` + the data's fingerprint); a study of that name is resumed.
        storage: its URL (default: $FUSION_SEARCH_STORAGE, else sqlite:///fusion-search.db).
        existing: join an existing study only, never create one (False).
        heartbeat: seconds between a running trial's heartbeats, stored in the study (default: the study's; 30
            for a new study).
        progress: True for progress bars, or a SilentProgress that receives the events (False: silent).

    Returns a SearchResult: ``.verdict.headline``, ``.leaderboard()``, ``.choice``, ``.export(path)``,
    ``.predict(rows)``."""
    _require_positive("trials", trials)
    require_confirmation_flags(confirm_repeats, confirm_folds)
    require_reachable(storage)  # before any data work: an unreachable database fails in a second, not after decoding
    table = read_table(data, Path(base_dir) if base_dir is not None else None)
    spec = _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
                 ignore_columns, merge_classes)
    space = chosen_space(space, study, storage)  # auto: the study's own space, else default on a GPU, balanced on a CPU
    prepared = prepare_data(table, folds, seed, image_sizes=space.image_sizes, spec=spec, holdout=holdout)
    settings = RunSettings(study=study or f"search-{prepared.manifest.fingerprint[:8]}",
                           storage=resolve_storage_url(storage), trials=trials, timeout=timeout, seed=seed,
                           create=not existing, heartbeat=heartbeat, prune_p=prune_p, baseline_trials=baseline_trials,
                           confirm_repeats=confirm_repeats, confirm_folds=confirm_folds)
    with _watcher(progress, trials) as watcher:
        found = run_search(settings, prepared, space, watcher, second_look_baseline)
    publish_to_dashboard(found, trials)
    return SearchResult(found, table, spec)


def confirm(study: str, data: Any, *, image_column: str = "image", label_column: str = "label",
            numeric_columns: Columns = None, group_column: str | None = None, positive: str | None = None,
            merge_classes: Merges = None, categorical_columns: Columns = None, ignore_columns: Columns = None,
            storage: str | None = None,
            repeats: int | None = None, folds: int | None = None,
            base_dir: str | Path | None = None, progress: bool | SilentProgress = False) -> SearchResult:
    """Confirm (or resume confirming) an existing study's winners on fresh folds of its data (the same rows
    and column choices as its search: checked by the data's fingerprint)."""
    if repeats == 0:
        raise UserError("confirm --repeats 0 would confirm nothing: give 1 or more fresh partitions, or leave it out "
                        "for the default (run --confirm-repeats 0 is how a run skips the confirmation)")
    found = load_existing_study(study, storage)
    attrs = found.user_attrs
    table = read_table(data, Path(base_dir) if base_dir is not None else None)
    spec = _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
                 ignore_columns, merge_classes)
    prepared = prepare_data(table, attrs["folds"], attrs["fold_seed"], spec=spec,
                            holdout=attrs.get("holdout_fraction", 0.0))
    if prepared.manifest.fingerprint != attrs.get("data_fingerprint"):
        raise UserError(f"this data is not the data study '{study}' was searched on (fingerprint "
                        f"{prepared.manifest.fingerprint}, study has {attrs.get('data_fingerprint')}); use the same "
                        "manifest and column flags")
    chosen = chosen_trials(found)
    if "fusion" not in chosen or len(chosen) < 2:
        raise UserError(f"study '{study}' has no fusion design and no baseline scored on every fold to confirm yet")
    planned, _ = confirmation_setup(found, prepared, repeats, folds)  # refuses a clash with a stored plan first
    with _watcher(progress, planned) as watcher:
        confirm_study(found, prepared, repeats, int(attrs.get("seed", 0)), watcher, folds, study_heartbeat(found),
                      second_look_baseline)
    publish_to_dashboard(found)
    return SearchResult(found, table, spec)


def _spec(image_column, label_column, numeric_columns, group_column, positive, categorical_columns,
          ignore_columns, merge_classes) -> ManifestSpec:
    def names(columns: Columns) -> tuple[str, ...] | None:
        return tuple(columns) if columns is not None else None

    return ManifestSpec(image_column, label_column, names(numeric_columns), group_column,
                        None if positive is None else str(positive), names(categorical_columns),
                        names(ignore_columns) or (), merge_groups(merge_classes))


def _watcher(progress: bool | SilentProgress, total: int) -> SilentProgress:
    if isinstance(progress, SilentProgress):
        return progress
    return RichProgress(total) if progress else SilentProgress()


def _require_positive(name: str, value: int) -> None:
    if value < 1:
        raise UserError(f"{name} must be at least 1, got {value}")
