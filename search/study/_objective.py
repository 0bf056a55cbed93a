"""The trial objective: one design, trained on every fold, scored by mean whole-fold ROC AUC."""

from __future__ import annotations

import statistics
import time
from typing import NoReturn

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search.data import SearchData, class_amount, class_name, fold_indices, rare_class_fixes
from fusion_search.designs import Design, baseline_fusions
from fusion_search.spaces import Space, baseline_params, suggest_design
from fusion_search.study._chance import BELOW_CHANCE, below_chance_reason
from fusion_search.study._first_tries import PruningGate
from fusion_search.study._notes import write_notes
from fusion_search.study._oof import save_oof_scores
from fusion_search.study._progress import SilentProgress
from fusion_search.study._summary import PARTIAL_MEAN, baselines
from fusion_search.trainers import (Diverged, FoldResult, class_aucs, fold_auc, fold_data, is_out_of_memory, too_large,
                                    train_fold)


class CrossValidatedObjective:
    """Callable for study.optimize. Knows folds and AUC; knows nothing about layers."""

    def __init__(self, data: SearchData, space: Space, seed: int, progress: SilentProgress | None = None,
                 trials: int | None = None):
        self.data, self.space, self.seed = data, space, seed
        self.progress = progress or SilentProgress()
        self.trials = trials  # the study's target, for the dashboard's progress note
        self.gate = PruningGate()

    def __call__(self, trial: optuna.Trial) -> float:
        design = suggest_design(trial, self.space)
        self.progress.trial_started(trial.number, design.fusion)
        if reason := too_large(self.data, design):
            self._skip(trial, design, reason)
        try:
            results = self._folds(trial, design)
        except Diverged as error:
            self._skip(trial, design, f"diverged: {error}", kind="diverged")
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            self._skip(trial, design, f"ran out of device memory at batch_size {design.batch_size} "
                                      f"({type(error).__name__})")
        value = statistics.fmean(r.auc for r in results.values())
        for key, attr in trial_attrs(self.data, design, results).items():
            trial.set_user_attr(key, attr)
        scores = oof_scores(self.data, results)
        save_oof_scores(trial, scores)
        if flag := below_chance_reason(self.data.manifest.labels, scores, self.data.manifest.class_names):
            trial.set_user_attr(BELOW_CHANCE, flag)
        record_against_baselines(trial, design.fusion, value)
        write_notes(trial, value, self.trials)
        self.progress.trial_ended(trial.number, design.fusion, value)
        if len(results) < self.data.k:  # stopped by fold pruning: PRUNED, its running mean kept as an attr only
            trial.set_user_attr(PARTIAL_MEAN, round(value, 6))
            raise optuna.TrialPruned(f"stopped by fold pruning after {len(results)} of {self.data.k} folds")
        return value

    def _skip(self, trial: optuna.Trial, design: Design, reason: str, kind: str = "skipped") -> NoReturn:
        """Record why the trial has no score (user attr ``skipped``: too large for memory; ``diverged``: its loss
        became NaN) and end it as PRUNED, so TPE learns to steer away from such designs (a FAIL it would ignore)."""
        trial.set_user_attr("fusion", design.fusion)
        trial.set_user_attr(kind, reason)
        write_notes(trial, None, self.trials)
        self.progress.trial_skipped(trial.number, design.fusion, reason)
        raise optuna.TrialPruned(reason)

    def _folds(self, trial: optuna.Trial, design: Design) -> dict[int, FoldResult]:
        """Train fold by fold in a per-trial shuffled order, reporting each fold's AUC with the fold id
        as step; stop early when the study's pruner (WilcoxonPruner) says this design is worse than
        the best. A pruned trial ends PRUNED, its running mean in user attr PARTIAL_MEAN: WilcoxonPruner's
        documentation suggests returning the running mean as a COMPLETE value, but a mean of the folds a trial
        happened to run then ranks with full means, and optuna-dashboard showed one as the study's "Best Trial"
        and listed pruned trials as Complete. TPE still learns from it: Optuna's TPE ranks a PRUNED trial by its
        reported fold AUCs, below the complete ones.
        Baselines and first tries are measured on every fold, and no fusion trial is pruned before some fusion
        trial has been (_first_tries.py)."""
        results: dict[int, FoldResult] = {}
        for fold in fold_order(self.seed, trial.number, self.data.k):
            results[fold] = self._fold(trial, design, fold, len(results))
            trial.report(results[fold].auc, step=fold)
            if len(results) < self.data.k and self.gate.may_prune(trial, design.fusion) and trial.should_prune():
                break
        return dict(sorted(results.items()))

    def _fold(self, trial: optuna.Trial, design: Design, fold: int, position: int) -> FoldResult:
        self.progress.fold_started(position, self.data.k)
        train_idx, val_idx = fold_indices(self.data.folds, fold)
        return train_fold(design, fold_data(self.data, design), train_idx, val_idx,
                          seed=fold_seed(self.seed, trial.number, fold), on_epoch=self.progress.epoch_ended)


def require_baselines_fit(data: SearchData, space: Space) -> None:
    """Refuse, before any study is touched, a space whose baselines (its defaults) cannot train on this device:
    without them no design can be judged."""
    for params in baseline_params(space):
        design = Design.from_params({**space.fixed, **params})
        if reason := too_large(data, design):
            raise UserError(f"the {design.fusion} baseline of space '{space.name}' cannot train here: {reason}; "
                            "lower the space's defaults batch_size, or set FUSION_SEARCH_DEVICE_MEMORY")


def require_splittable(data: SearchData, space: Space) -> None:
    """Refuse, before any study is touched, folds whose training rows cannot be split again: every design
    holds out a stratified early-stopping slice (2 of each class at least), the stacked design splits its
    training fold into inner folds. (A design that cannot train would only fail every trial.)"""
    needed, why = 2, "the early-stopping slice needs 2"
    if "stacked" in space.fusions:
        inner = _largest(space, "stacked_inner_folds")
        if inner > needed:
            needed, why = inner, f"the stacked design's {inner} inner folds need {inner}"
    manifest = data.manifest
    labels, groups, multiclass = manifest.labels, manifest.groups, manifest.n_classes > 2
    for fold in range(data.k):
        train = fold_indices(data.folds, fold)[0]
        for value in range(manifest.n_classes)[::-1]:  # (two classes: the positive one first)
            members = train[labels[train] == value]
            count = len(np.unique(groups[members])) if groups is not None else len(members)
            if count < needed:
                fixes = rare_class_fixes(value, manifest.class_names, multiclass, groups is not None,
                                         bool((data.folds < 0).any()), _smaller_splits(data.k, count, needed))
                raise UserError(f"in a training fold, {class_name(value, manifest.class_names, multiclass)} "
                                f"{class_amount(count, groups is not None)}, too few to split it again ({why}): "
                                f"{fixes}")


def _smaller_splits(k: int, count: int, needed: int) -> tuple[str, ...]:
    """The folds or inner folds the user can lower: --folds above 2 (a larger training fold), the stacked design's
    inner folds where the early-stopping slice alone would fit (``needed`` > 2 is the inner folds)."""
    fixes = ["use fewer --folds"] if k > 2 else []
    if count >= 2 and needed > 2:
        fixes.append(f"fix stacked_inner_folds at {count} (or leave out the stacked design) in a --space file")
    return tuple(fixes)


def _largest(space: Space, name: str) -> int:
    """The largest value a space lets a design field take."""
    if name in space.fixed:
        return int(space.fixed[name])
    param = space.param(name)
    if param is None:
        return int(getattr(Design(), name))
    return int(max(param.choices) if param.choices is not None else param.high)


def fold_order(seed: int, trial_number: int, k: int) -> list[int]:
    """Folds in a shuffled order of their own per trial, so pruning does not always judge on fold 0."""
    return [int(f) for f in np.random.default_rng([seed, trial_number]).permutation(k)]


def fold_seed(seed: int, trial_number: int, fold: int) -> int:
    """Training seed of one fold of one trial: reproducible, different across trials and folds."""
    return (seed * 1_000_003 + trial_number * 101 + fold) % (2**31 - 1)


def trial_attrs(data: SearchData, design: Design, results: dict[int, FoldResult]) -> dict:
    """What a person needs to read a trial: per-fold AUCs (fold-id order; None for folds a pruned trial
    skipped), spread, pooled out-of-fold AUC, cost, device."""
    aucs = [round(results[f].auc, 6) if f in results else None for f in range(data.k)]
    done = [a for a in aucs if a is not None]
    return {
        "fusion": design.fusion,
        "fold_aucs": aucs,
        "std_auc": round(statistics.pstdev(done), 6),
        "oof_auc": round(pooled_oof_auc(data, results), 6),
        **pooled_class_aucs(data, results),
        "epochs": [results[f].epochs if f in results else None for f in range(data.k)],
        "pruned": len(results) < data.k,
        "folds_done": len(results),
        "train_seconds": round(sum(r.seconds for r in results.values()), 2),
        "device": next(iter(results.values())).device,
        "backend": next(iter(results.values())).backend,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def oof_scores(data: SearchData, results: dict[int, FoldResult]) -> np.ndarray:
    """Every row's score from the fold that held it out, in manifest row order (NaN: fold not trained)."""
    width = np.shape(next(iter(results.values())).scores)[1:]  # () for one score a row, (K,) for K classes
    scores = np.full((len(data.folds), *width), np.nan)
    for fold, result in results.items():
        scores[fold_indices(data.folds, fold)[1]] = result.scores
    return scores


def pooled_oof_auc(data: SearchData, results: dict[int, FoldResult]) -> float:
    """One AUC over all out-of-fold scores together (folds' score scales may differ, so it can be lower)."""
    rows = np.concatenate([fold_indices(data.folds, fold)[1] for fold in results])
    return fold_auc(data.manifest.labels[rows], oof_scores(data, results)[rows])  # (0.5 where a fold diverged)


def pooled_class_aucs(data: SearchData, results: dict[int, FoldResult]) -> dict:
    """K >= 3 classes: {"class_aucs": {class: its one-vs-rest AUC over the pooled out-of-fold scores}} (rows of a
    diverged fold left out); {} for two classes."""
    manifest = data.manifest
    if manifest.n_classes == 2:
        return {}
    rows = np.concatenate([fold_indices(data.folds, fold)[1] for fold in results])
    scores, labels = oof_scores(data, results)[rows], manifest.labels[rows]
    finite = np.isfinite(scores).all(axis=1)
    if len(np.unique(labels[finite])) < manifest.n_classes:
        return {}
    aucs = class_aucs(labels[finite], scores[finite])
    return {"class_aucs": {name: round(float(auc), 6) for name, auc in zip(manifest.class_names, aucs)}}


def record_against_baselines(trial: optuna.Trial, fusion: str, value: float) -> None:
    """On completion on every fold: trial attr delta_vs_best_baseline, study attrs baselines and best_baseline.
    (A fold-pruned trial's running mean is compared with nothing: it was not scored on the same folds.)

    A snapshot as of this trial's end (this trial counted if it is a baseline itself); a later,
    better baseline trial moves the study attrs but not earlier trials' deltas.
    """
    if trial.user_attrs.get("pruned", False):
        return
    study = trial.study
    known = {name: auc for name, auc in baselines(study).items() if auc is not None}
    if fusion in baseline_fusions():
        known[fusion] = round(max(value, known.get(fusion, value)), 6)
    if not known:
        return
    reference = max(known, key=known.get)
    trial.set_user_attr("delta_vs_best_baseline", round(value - known[reference], 6) + 0.0)  # + 0.0: no "-0.0"
    study.set_user_attr("baselines", {name: known.get(name) for name in baseline_fusions()})
    study.set_user_attr("best_baseline", {"fusion": reference, "mean_auc": known[reference]})
