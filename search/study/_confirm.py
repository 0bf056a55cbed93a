"""Confirmation: the search's winners trained again on fresh partitions that played no part in choosing them.

What is confirmed (``roles``): each baseline's best trial, the single-modality ensembles (baselines too), and ONE
fusion candidate chosen before any fresh fold is seen: the best fusion design, or the fusion ensemble when its
out-of-fold AUC is higher (the best fusion design is then confirmed beside it as role ``fusion:design``, for the
record: what ensembling added on fresh folds; the verdict never reads it). Every member trial is trained on R repeats of CONFIRM_FOLDS (10) folds drawn with new seeds (the study's k when
the rows do not give every fold of every repeat 10 rows of each class) and, when the
study holds rows out (--holdout), once on every search row and scored on the held-out rows. Each (trial, repeat,
fold) is one *unit*, a trial of the companion study ``<study>:confirm`` run by the search's own worker loop:
workers that reach the end together share the units, each unit runs once, a killed worker's unit is retried, a
unit that raised an error is queued again (up to UNIT_ROUNDS times in a run, then on the next run), and a rerun
resumes. When every unit is complete, the roles' scores
(an ensemble's from its members' blended unit scores) are written into the study (study attr ``confirmation``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

import numpy as np
import optuna

from fusion_search._errors import UserError
from fusion_search.data import SearchData, assign_folds, fold_indices
from fusion_search.designs import baseline_fusions
from fusion_search.storage import HEARTBEAT_SECONDS
from fusion_search.study._control import CONTROL, control_plan, shuffled_order
from fusion_search.study._confirm_summary import (
    CHANCE_AUC, FAILED_KEY, HOLDOUT, RETRIED_KEY, SCORES_KEY, is_baseline_role, summarize,
)
from fusion_search.study._ensemble import study_ensembles
from fusion_search.study._progress import SilentProgress
from fusion_search.study._summary import best_per_fusion, trial_design
from fusion_search.study._worker import WorkerSettings, run_worker
from fusion_search.trainers import Diverged, FoldData, fold_data, is_out_of_memory, train_fold

SUFFIX = ":confirm"  # the confirmation study is "<study>:confirm"
FUSION, FUSION_DESIGN = "fusion", "fusion:design"  # the candidate; the best single fusion design behind an ensemble
SHARE = 0.20  # of the search's fold trainings that the default confirmation may cost
# Fresh partitions into 10 folds: the corrected t-test's variance factor is 1/n + 1/(k-1), so at the same number
# of trainings 1 x 10 folds (0.21) tests more sharply than 2 x 5 (0.35); Bouckaert & Frank (2004) use 10 folds too.
CONFIRM_FOLDS = 10
MIN_CLASS_ROWS = 10  # of each class in each fresh fold, or a fold's AUC is too coarse to test: fewer folds then
SEED_STEP = 1_000_003  # repeat r's partition seed: the study's fold seed + (r + 1) * SEED_STEP
RETRY_SEED_STEP = 7_777_777  # a failed unit's second attempt trains with its seed + this


def default_repeats(trials: int, designs: int, search_folds: int = CONFIRM_FOLDS,
                    confirm_folds: int = CONFIRM_FOLDS) -> int:
    """R such that designs x R x confirm_folds trainings cost about SHARE of the search's trials x search_folds."""
    return max(1, math.floor(SHARE * trials * search_folds / (max(1, designs) * confirm_folds)))


def require_confirmation_flags(repeats: int | None, folds: int | None) -> None:
    """Refuse nonsense before any study is touched (None: the default, or the stored plan)."""
    if repeats is not None and repeats < 0:
        raise UserError(f"confirmation repeats must be 0 (none) or more, got {repeats}")
    if folds is not None and folds < 2:
        raise UserError(f"confirmation folds must be at least 2, got {folds}")


def confirmation_setup(study: optuna.Study, data: SearchData, repeats: int | None = None,
                       folds: int | None = None) -> tuple[int, int]:
    """(R, K) of the study's confirmation. A confirmation already planned for the same winners keeps its R and K
    (a flag that asks for others is refused: it would discard finished units). Otherwise K is ``folds`` (default
    CONFIRM_FOLDS) where every fold of every one of the R fresh partitions keeps MIN_CLASS_ROWS of each class, else
    the study's k (where at least both classes are in every fold); R is ``repeats``, default about SHARE of the
    search's cost for the distinct trials trained (baselines, the fusion candidate, every ensemble member)."""
    require_confirmation_flags(repeats, folds)
    stored = _stored_plan(study)
    if stored is not None and _same_winners(stored, study):
        if (repeats or stored["repeats"], folds or stored["folds"]) != (stored["repeats"], stored["folds"]):
            raise UserError(f"study '{study.study_name}' is already confirmed (or being confirmed) on "
                            f"{stored['repeats']}x{stored['folds']} fresh folds; run without --confirm-repeats/"
                            f"--confirm-folds to keep it, or delete the study '{study.study_name}{SUFFIX}' first")
        return stored["repeats"], stored["folds"]
    wanted = folds or CONFIRM_FOLDS
    wanted_roles = roles(study)
    trained = len({number for members in wanted_roles.values() for number in members})  # ensemble members too
    if FUSION in wanted_roles:  # and the members the shuffled control trains again
        trained += sum(map(len, control_plan(study, wanted_roles[FUSION]).values()))
    for k, least in ((wanted, MIN_CLASS_ROWS), (min(wanted, data.k), 1)):
        r = repeats or default_repeats(searched_trials(study), trained, data.k, k)
        if all(_fresh_folds_fit(data, k, repeat, least) for repeat in range(r)):
            return r, k
    raise UserError(f"the search rows cannot be split into {min(wanted, data.k)} folds with both classes in each "
                    "for every confirmation repeat (a rare class or few groups): use fewer --confirm-repeats or "
                    "--confirm-folds")


def _fresh_folds_fit(data: SearchData, k: int, repeat: int, least: int) -> bool:
    """Whether repeat's fresh partition into k folds exists and keeps ``least`` rows of each class in every fold."""
    labels, classes = data.manifest.labels, data.manifest.n_classes
    if np.bincount(labels[data.folds >= 0], minlength=classes).min() < k * least:
        return False
    try:
        folds = fresh_partition(data, k, repeat)
    except UserError:
        return False
    return all(np.bincount(labels[folds == f], minlength=classes).min() >= least for f in range(k))


def fresh_partition(data: SearchData, k: int, repeat: int) -> np.ndarray:
    """Fold ids of repeat's fresh partition of the search rows (held-out rows stay -1): new seeds, groups kept."""
    manifest = data.manifest
    return assign_folds(manifest.labels, k, data.fold_seed + (repeat + 1) * SEED_STEP, manifest.groups,
                        held_out=data.folds < 0, class_names=manifest.class_names)


def _stored_plan(study: optuna.Study) -> dict | None:
    try:
        companion = optuna.load_study(study_name=study.study_name + SUFFIX, storage=study._storage)
    except KeyError:
        return None
    return companion.user_attrs.get("plan")


def _same_winners(stored: dict, study: optuna.Study) -> bool:
    """Whether a stored plan confirms the study's current winners (and has the control this version plans)."""
    wanted = roles(study)
    as_stored = {role: {str(n): w for n, w in members.items()} for role, members in wanted.items()}
    control = control_plan(study, wanted[FUSION]) if FUSION in wanted else None
    return (stored.get("roles") == as_stored and stored.get("search_trials") == searched_trials(study)
            and stored.get(CONTROL) == control)


def chosen_trials(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """role -> trial: "fusion" (the best fusion design scored on every fold), and each baseline's best."""
    best = best_per_fusion(study)
    chosen = {name: best[name] for name in baseline_fusions() if name in best}
    fusions = [trial for name, trial in best.items() if name not in baseline_fusions()]
    if fusions:
        chosen["fusion"] = fusions[0]
    return chosen


def roles(study: optuna.Study) -> dict[str, dict[int, int]]:
    """role -> members (trial number -> weight): the baselines' best trials, the single-modality ensembles, and
    the one fusion candidate (the fusion ensemble only when its out-of-fold AUC beats the best fusion design's)."""
    chosen = chosen_trials(study)
    out = {role: {trial.number: 1} for role, trial in chosen.items()}
    for ensemble in study_ensembles(study):
        if ensemble.side != "fusion":
            out[ensemble.name] = ensemble.members
        elif FUSION in chosen and ensemble.oof_auc > chosen[FUSION].user_attrs.get("oof_auc", 0.0):
            out[FUSION], out[FUSION_DESIGN] = ensemble.members, out[FUSION]
    return out


def plan(study: optuna.Study, data: SearchData, repeats: int, folds: int = CONFIRM_FOLDS,
         two_looks: bool = False) -> dict | None:
    """What to confirm: the roles, the shuffled controls (_control.py), R, k and the units (trial, repeat, fold, and
    for a control's retrained member the modality shuffled); None when the study has no fusion design and
    baseline scored on every fold yet. The controls are scored on the fresh folds only, not on held-out rows.
    ``two_looks``: also "looks": [R, R + ``second_look_repeats``] where a second look is paid for; the units here
    are the first look's, the second look's are added by ``extend`` when the first does not decide."""
    wanted = roles(study)
    if FUSION not in wanted or not any(map(is_baseline_role, wanted)):
        return None
    control = control_plan(study, wanted[FUSION])
    trials = sorted({number for members in wanted.values() for number in members})
    units = _units(trials, control, range(repeats), folds)
    if len(data.holdout_rows):
        units += [{"trial": n, "repeat": HOLDOUT, "fold": HOLDOUT} for n in trials]
    out = {"roles": {role: {str(n): w for n, w in members.items()} for role, members in wanted.items()},
           CONTROL: control, "repeats": repeats, "folds": folds, "units": units, "search_trials": searched_trials(study)}
    if two_looks and (later := second_look_repeats(out, data)):
        out[LOOKS] = [repeats, repeats + later]
    return out


def _units(trials, control: dict[str, list[int]], repeats: range, folds: int) -> list[dict]:
    """The fresh-fold units of these trials and of the control's shuffled members over these repeats."""
    units = [{"trial": n, "repeat": r, "fold": f} for n in trials for r in repeats for f in range(folds)]
    return units + [{"trial": n, "repeat": r, "fold": f, "shuffled": modality}
                    for modality, shuffled in control.items() for n in shuffled for r in repeats for f in range(folds)]


LOOKS, SECOND_LOOK = "looks", "second_look"  # plan keys: [R first, R last]; the baseline role the second look runs
SECOND_LOOK_SHARE = 0.5  # of the search's fold trainings that a second look may cost at most


def second_look_repeats(wanted: dict, data: SearchData) -> int:
    """The repeats a second look adds to the plan's first-look R (2R at most: R = 1 then 3 keeps 0.0447 of the 5%
    for the last look), as many as SECOND_LOOK_SHARE of the search's fold trainings pays for when the second look
    trains the fusion candidate, the widest baseline role and the control's shuffled members again (the baseline
    is chosen at the first look, so the widest bounds it); 0: one look. Fixed before any fresh fold is scored,
    so the looks' thresholds are too."""
    repeats, folds, roles_ = wanted["repeats"], wanted["folds"], wanted["roles"]
    control = sum(map(len, wanted[CONTROL].values()))
    widest = max(len(members) for role, members in roles_.items() if is_baseline_role(role))
    per_repeat = folds * (len(roles_[FUSION]) + widest + control)
    extra = min(2 * repeats, int(SECOND_LOOK_SHARE * wanted["search_trials"] * data.k // per_repeat))
    while extra and not all(_fresh_folds_fit(data, folds, r, 1) for r in range(repeats, repeats + extra)):
        extra -= 1
    return extra


def first_look(wanted: dict) -> dict:
    """The plan as its first look planned it: what two workers' plans must share to be one confirmation (a
    stored plan's second look, or its looks where this worker would plan none, do not make it another)."""
    units = [u for u in wanted["units"] if u["repeat"] < wanted["repeats"]]
    return {**{k: v for k, v in wanted.items() if k not in (LOOKS, SECOND_LOOK)}, "units": units}


def extend(companion: optuna.Study, baseline: str) -> dict:
    """Start the second look: the fusion candidate's, the chosen baseline role's and the control's members on
    the planned further repeats, queued and written into the plan (idempotent: a racing worker that extends
    too queues copies that give way, ``start_unit``). Returns the extended plan."""
    current = companion.user_attrs["plan"]
    if current.get(SECOND_LOOK):
        return current
    first, last = current[LOOKS]
    trials = sorted({int(n) for role in (FUSION, baseline) for n in current["roles"][role]})
    added = _units(trials, current[CONTROL], range(first, last), current["folds"])
    extended = {**current, SECOND_LOOK: baseline, "units": current["units"] + added}
    companion.set_user_attr("plan", extended)
    for unit in added:
        companion.enqueue_trial({}, user_attrs=unit)
    return extended


def searched_trials(study: optuna.Study) -> int:
    """Finished trials of the search: a confirmation planned at another count confirmed other winners."""
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                         optuna.trial.TrialState.PRUNED)))


def confirm(study: optuna.Study, data: SearchData, repeats: int | None, seed: int,
            progress: SilentProgress | None = None, folds: int | None = None,
            heartbeat: float = HEARTBEAT_SECONDS,
            second_look: Callable[[optuna.Study], str | None] | None = None) -> dict | None:
    """Run (or join, or resume) the confirmation of the study's current winners (R and K from
    ``confirmation_setup``); returns the summary written into the study, or None while units are still running
    elsewhere or some failed. With the default R (``repeats`` None) and a ``second_look`` rule, the confirmation
    plans two looks (``second_look_repeats``): once the first look's summary is written, ``second_look(study)``
    names the baseline role to look again against (the results layer's rule, from the first look's tests), or
    None when the first look decided; the second look's summary then replaces the first's."""
    asked = repeats
    repeats, folds = confirmation_setup(study, data, repeats, folds)
    wanted = plan(study, data, repeats, folds, two_looks=asked is None and second_look is not None)
    if wanted is None:
        return None
    companion = _open_companion(study, wanted)
    objective = UnitObjective(study, data, wanted["folds"], seed, progress or SilentProgress())
    current = companion.user_attrs["plan"]
    run_units(companion, objective, current["units"], heartbeat, final=LOOKS not in current or
              bool(current.get(SECOND_LOOK)))
    summary = summarize(study, companion)
    if summary is None or LOOKS not in current or current.get(SECOND_LOOK) or second_look is None:
        return summary
    baseline = second_look(study)  # None: the first look decided (a claim, or no gain to look further for)
    if baseline is None:
        return summary
    run_units(companion, objective, extend(companion, baseline)["units"], heartbeat)
    return summarize(study, companion)


UNIT_ROUNDS = 3  # rounds a worker runs: each re-queues the units with no complete, running or queued trial (a
# unit whose copies gave way, or one that raised a caught error: it is tried again in the same run)


def run_units(companion: optuna.Study, objective, units: list[dict], heartbeat: float = HEARTBEAT_SECONDS,
              final: bool = True) -> None:
    """Run the planned units until each has a complete trial, or until the rest are other workers' running
    trials. A unit is done once, by its key: a copy queued twice gives way to a running or complete one
    (``start_unit``); a companion full of trials that still misses a unit (two copies of one unit completed: the
    one-sided check before 2026-12 let that happen) has the unit queued again, the extra copy counted as surplus.
    ``final`` False (a first look that a second may follow): a worker that finds these units done leaves what is
    queued alone, since it may be the second look's units, queued by the worker that finished the first."""
    for _ in range(UNIT_ROUNDS):
        _requeue_failed(companion, units)
        complete = companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        surplus = len(complete) - len({unit_key(t.user_attrs) for t in complete})
        run_worker(companion, objective, WorkerSettings(trials=len(units) + surplus, create=False,
                                                        heartbeat=heartbeat, retire=final))
        if not _missing_units(companion, units, (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)):
            return


def _missing_units(companion: optuna.Study, units: list[dict], states: tuple) -> list[dict]:
    """The planned units with no trial in one of `states`."""
    have = {unit_key(t.user_attrs) for t in companion.get_trials(deepcopy=False, states=states)}
    return [unit for unit in units if unit_key(unit) not in have]


def _open_companion(study: optuna.Study, wanted: dict) -> optuna.Study:
    """The companion study with the planned units queued, created by whichever worker gets there first (no lock:
    creating a study by name is atomic); a plan that changed (the study grew
    and has new winners) replaces the old one, deleted by its id so that a racing worker's new one survives."""
    storage, name = study._storage, study.study_name + SUFFIX
    for _ in range(READY_ATTEMPTS):
        try:
            companion = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            companion = _create_companion(storage, name, wanted)
            if companion is None:
                continue  # another worker created it a moment ago: load theirs
        _wait_until_ready(companion)
        stored = companion.user_attrs.get("plan")
        if stored is not None and first_look(stored) == first_look(wanted):
            return companion  # (run_units queues again the units that failed; a stored plan keeps its looks)
        with contextlib.suppress(KeyError):  # gone already: another worker replaced it
            storage.delete_study(companion._study_id)
    raise RuntimeError(f"the confirmation study '{name}' kept changing under this worker; run `confirm` again")


READY_ATTEMPTS = 5
READY_SECONDS = 60.0  # how long a worker waits for another to finish queueing the planned units


def _create_companion(storage, name: str, wanted: dict) -> optuna.Study | None:
    try:
        companion = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                        sampler=optuna.samplers.RandomSampler(seed=0))
    except optuna.exceptions.DuplicatedStudyError:
        return None
    companion.set_user_attr("plan", wanted)
    for unit in wanted["units"]:
        companion.enqueue_trial({}, user_attrs=unit)
    companion.set_user_attr("ready", True)
    return companion


def _wait_until_ready(companion: optuna.Study) -> None:
    """Until its creator has queued every unit; a creator that died half-way is stood in for (missing units are
    queued by _requeue_failed, which runs next)."""
    deadline = time.monotonic() + READY_SECONDS
    while not companion.user_attrs.get("ready") and time.monotonic() < deadline:
        time.sleep(0.5)


def _requeue_failed(companion: optuna.Study, units: list[dict]) -> None:
    """Queue again every planned unit that has no complete, running or queued trial (it failed)."""
    alive = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    for unit in _missing_units(companion, units, alive):
        companion.enqueue_trial({}, user_attrs=unit)


def unit_key(unit: dict) -> tuple[int, int, int, str]:
    """(trial, repeat, fold, the modality shuffled or "")."""
    return unit["trial"], unit["repeat"], unit["fold"], unit.get("shuffled", "")


class DuplicateUnit(ValueError):
    """The unit this trial would train already has a trial (a worker's re-queue raced another's): this one fails,
    so only distinct units fill the companion's count."""


def start_unit(trial: optuna.Trial) -> None:
    """Raise DuplicateUnit when another trial of the same unit is complete, or running and started first (start
    time, then number). The check runs once this trial is RUNNING, so of two copies the one started later sees the
    other and gives way, whichever of them was queued first. Both can still train where the start times mislead:
    workers whose clocks or time zones differ, or a start stamped before its commit lands (milliseconds); the extra
    copy is then wasted work, never a wrong count: ``run_units`` counts it as surplus and ``summarize`` keeps one
    trial per unit."""
    key, done, running = unit_key(trial.user_attrs), optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING
    mine = trial.study._storage.get_trial(trial._trial_id)
    for other in trial.study.get_trials(deepcopy=False, states=(done, running)):
        if other.number == trial.number or unit_key(other.user_attrs) != key:
            continue
        if other.state == done or (other.datetime_start, other.number) < (mine.datetime_start, mine.number):
            raise DuplicateUnit(f"unit {key} is trial {other.number}'s already (queued twice by workers at once)")


class UnitObjective:
    """One unit: a trial's design trained on one fold of a fresh partition (or on every search row, scored on the
    held-out rows); its value is that fold's AUC, and the scored rows' labels and scores are kept for blends."""

    def __init__(self, study: optuna.Study, data: SearchData, folds: int, seed: int, progress: SilentProgress):
        self.study, self.data, self.folds, self.seed, self.progress = study, data, folds, seed, progress
        self.partitions: dict[int, np.ndarray] = {}
        self.orders: dict[int, np.ndarray] = {}

    def __call__(self, trial: optuna.Trial) -> float:
        unit = trial.user_attrs
        start_unit(trial)
        design = trial_design(self.study, self.study.trials[unit["trial"]])
        shuffled = unit.get("shuffled")
        self.progress.trial_started(trial.number, f"confirm {design.fusion}"
                                    + (f" ({shuffled} shuffled)" if shuffled else ""))
        data = fold_data(self.data, design)
        if shuffled:
            data = data.shuffled(shuffled, self.shuffled_order(unit["repeat"]))
        if unit["fold"] == HOLDOUT:
            train_idx, val_idx = self.data.search_rows, self.data.holdout_rows
        else:
            train_idx, val_idx = fold_indices(self.partition(unit["repeat"]), unit["fold"])
        seed = (self.seed * 7919 + (unit["repeat"] + 2) * 101 + unit["fold"] + 2) % (2**31 - 1)  # holdout: -1, -1
        result, failures = self._train(design, data, train_idx, val_idx, seed)
        labels = [int(v) for v in self.data.manifest.labels[val_idx]]
        scores = None if result is None else np.asarray(result.scores, dtype=float).tolist()  # (rows,) or (rows, K)
        kept = {"labels": labels, "scores": scores}
        if unit["fold"] == HOLDOUT and self.data.manifest.groups is not None:
            kept["groups"] = [str(g) for g in self.data.manifest.groups[val_idx]]  # the bootstrap resamples groups
        trial.storage.set_trial_system_attr(trial._trial_id, SCORES_KEY, kept)
        if failures:
            trial.set_user_attr(FAILED_KEY if result is None else RETRIED_KEY, "; ".join(failures))
        if result is not None:
            trial.set_user_attr("epochs", result.epochs)
        value = CHANCE_AUC if result is None else result.auc
        self.progress.unit_ended(*units_done(trial), design.fusion, unit_place(unit), value)
        return value

    def _train(self, design, data: FoldData, train_idx: np.ndarray, val_idx: np.ndarray, seed: int):
        """(the fold's result, or None when it failed twice; why each failed attempt failed). A unit whose training
        diverges or runs out of memory is retried once with a new seed; a rerun never replays a failed unit, since
        the failure itself is the unit's recorded result (summarize says how it counts)."""
        failures: list[str] = []
        for attempt_seed in (seed, (seed + RETRY_SEED_STEP) % (2**31 - 1)):
            try:
                return train_fold(design, data, train_idx, val_idx, seed=attempt_seed), failures
            except Diverged as error:
                failures.append(f"diverged with seed {attempt_seed}: {error}")
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                failures.append(f"ran out of device memory with seed {attempt_seed} ({type(error).__name__})")
        return None, failures

    def shuffled_order(self, repeat: int) -> np.ndarray:
        """The rows' order in repeat's shuffled controls (one per repeat, _control.shuffled_order)."""
        if repeat not in self.orders:
            self.orders[repeat] = shuffled_order(self.partition(repeat), self.data.fold_seed, repeat)
        return self.orders[repeat]

    def partition(self, repeat: int) -> np.ndarray:
        """Fresh folds of the search rows: the plan's number of folds, new seeds, held-out rows still out."""
        if repeat not in self.partitions:
            self.partitions[repeat] = fresh_partition(self.data, self.folds, repeat)
        return self.partitions[repeat]


def unit_place(unit: dict) -> str:
    """'repeat 1 fold 3' (counted from 1), 'held-out rows', or 'repeat 1 fold 3, table shuffled' (the control)."""
    place = "held-out rows" if unit["fold"] == HOLDOUT else f"repeat {unit['repeat'] + 1} fold {unit['fold'] + 1}"
    return place + (f", {unit['shuffled']} shuffled" if unit.get("shuffled") else "")


def units_done(trial: optuna.Trial) -> tuple[int, int]:
    """(units complete with this one, units planned) of the confirmation this unit belongs to."""
    companion = trial.study
    done = len(companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    return done + 1, len(companion.user_attrs.get("plan", {}).get("units", [])) or done + 1


def companion_study(study: optuna.Study) -> optuna.Study | None:
    """The study's confirmation study ``<study>:confirm``; None when no confirmation was started."""
    try:
        return optuna.load_study(study_name=study.study_name + SUFFIX, storage=study._storage)
    except KeyError:
        return None


def confirmation_progress(study: optuna.Study) -> tuple[int, int] | None:
    """(units complete, units planned) of the study's confirmation; None when none was started."""
    companion = companion_study(study)
    if companion is None:
        return None
    planned = len(companion.user_attrs.get("plan", {}).get("units", []))
    done = len(companion.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    return done, planned
