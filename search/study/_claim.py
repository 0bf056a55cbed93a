"""Taking a trial slot without any lock, so that the same worker loop runs on a database and through Optuna's gRPC
storage proxy (which has no locks to offer), and the study still ends with exactly N finished trials.

The only atomic steps used are the ones every Optuna storage gives on a database server: creating a trial, moving
one trial from WAITING to RUNNING (one caller wins), and finishing a RUNNING trial (one caller wins, the others are
told it is finished). On SQLite those are made atomic by a file lock (``sqlite_claim_lock``).

Claim (optimistic admission, ``Claimer``): fail stale trials; if N trials are finished or running, stop; otherwise
take a queued trial (WAITING -> RUNNING) or, when none is queued, create one (RUNNING), then count the running and
finished trials again. More than N: a racing worker claimed at the same moment, so this claim loses: a queued trial
goes back to the queue (RUNNING -> WAITING, to be taken by the next claim); a created one, which holds nothing yet,
is failed and marked not run (NOT_RUN_KEY), never queued. At most N: keep it; but a created trial gives its slot to
a trial queued meanwhile (a racer handed it back): pop that one, then fail the created one, so a queued trial goes
before a new one whenever the hand-back is seen (a third racer can still take it and lose it again). Why this never overshoots: every kept trial was RUNNING before its own recount (a swapped-in
queued trial was RUNNING before the created one it replaces ended, so every other recount counted one of the two),
so the kept trial whose recount came last saw all the others and counted at most N. Two racers may both lose (each
saw the other); the random pause settles it.

A full study has no queued trial left: a trial still queued when N trials are finished (it lost the race for the
last slot) is taken and failed as not run by the worker that finds the study full (``retire_unrun``), so no
budget counts it as taken and `status` lists it apart. A study that is extended later samples afresh. (A worker
killed between taking a slot and handing it back leaves a RUNNING trial: it goes stale like any other, and is
failed and re-queued by the next claim, if there is one before the study is full.)

A stale trial (unheard for longer than the grace, see fusion_search.storage._liveness) is failed by whoever
finishes it first; only that worker queues its parameters again (Optuna's RetryHeartbeatStaleTrialCallback).

A result that arrives after its trial was failed as stale (the worker was cut off, not dead) goes through the same
admission: it is stored as a RUNNING trial of its own, the re-queued copy is failed if it has not finished (a
running copy stops at its next fold report), and the study is counted again; at most N, the late result is told
and kept. When the copy finished first, or the slot went to another trial meanwhile, the late result is dropped
(and said so): the count is exact either way.
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Callable

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from fusion_search.storage import HEARTBEAT_KEY, MAX_RETRIES, StaleWatch, sqlite_claim_lock

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
COUNTED = (*FINISHED, TrialState.RUNNING)  # a running trial has its slot until it ends or goes stale
OPEN = (TrialState.RUNNING, TrialState.WAITING)
LATE_KEY = "late_result_of"  # system attr of a trial that holds a late result: the number of the trial it came from
SUPERSEDED_KEY = "superseded_by_late_result"  # system attr of a copy failed to make room for a late result
NOT_RUN_KEY = "not_run"  # system attr of a trial failed without running: why (a claim that lost, a full study)
NOT_INHERITED = (HEARTBEAT_KEY, LATE_KEY, SUPERSEDED_KEY, NOT_RUN_KEY)  # a re-queued copy starts without these

BeforeClaim = Callable[[optuna.Study, list[FrozenTrial]], bool]


class Claimer:
    """One worker's claims on one study. A claim reads the study's trials to decide, takes a slot, then reads them
    again to recount; the recount is kept and serves as the next claim's decision read, so a worker reads the study
    once per trial, plus a fresh read whenever it looks for stale trials (once per heartbeat interval)."""

    def __init__(self, study: optuna.Study, trials: int, heartbeat: float, create: bool = True,
                 before_claim: BeforeClaim | None = None, watch: StaleWatch | None = None):
        self.study, self.trials, self.heartbeat, self.create, self.before_claim = (
            study, trials, heartbeat, create, before_claim)
        self.watch = watch or StaleWatch(heartbeat)
        self._known: list[FrozenTrial] | None = None  # the study's trials at this worker's last recount
        self._judged = -math.inf  # when this worker last looked for stale trials (monotonic seconds)

    def __call__(self) -> int | None:
        """A RUNNING trial this worker now owns, or None: no slot is free right now. Its start (the storage sets it
        when the trial becomes RUNNING) is its first sign of life, so even a worker killed at once leaves a trial
        that goes stale."""
        with sqlite_claim_lock(self.study._storage):
            return self._claim()

    def _claim(self) -> int | None:
        study, storage = self.study, self.study._storage
        now = self._known
        if now is None or time.monotonic() - self._judged >= self.heartbeat:
            now = storage.get_all_trials(study._study_id, deepcopy=False)
            self._judged = time.monotonic()
            if fail_stale_trials(study, self.watch, now):  # their copies are queued now: take one of them
                now = storage.get_all_trials(study._study_id, deepcopy=False)
        if sum(t.state in COUNTED for t in now) >= self.trials:
            self._known = None  # full, as far as this worker knows: the next claim reads afresh
            return None
        if self.before_claim is not None and self.before_claim(study, now):  # it queued trials: read the queue
            now = storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,))
        trial_id = pop_waiting(study, now)
        created = trial_id is None
        if created:
            if not self.create:
                self._known = None
                return None
            trial_id = storage.create_new_trial(study._study_id)
        self._known = storage.get_all_trials(study._study_id, deepcopy=False)
        if sum(t.state in COUNTED for t in self._known) <= self.trials:
            return self._queued_instead(trial_id) if created else trial_id
        self._known = None
        if created:
            retire(storage, trial_id, "lost the race for the last slot")
            return None
        try:
            storage.set_trial_state_values(trial_id, state=TrialState.WAITING)  # lost the race for the last slot
        except UpdateFinishedTrialError:
            pass  # a late result replaced it meanwhile: nothing to hand back
        return None

    def _queued_instead(self, created_id: int) -> int:
        """The kept created trial, or a trial queued meanwhile (handed back by a racer that lost to this claim)
        that takes its slot: popped first, so the slot is never empty, then the created one is failed."""
        queued_id = pop_waiting(self.study, self._known)
        if queued_id is None:
            return created_id
        retire(self.study._storage, created_id, "gave its slot to a queued trial")
        self._known = None
        return queued_id


def pop_waiting(study: optuna.Study, trials: list[FrozenTrial]) -> int | None:
    """The oldest queued trial among `trials`, now RUNNING and ours; None when none could be taken."""
    storage = study._storage
    for trial in trials:
        if trial.state != TrialState.WAITING:
            continue
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING):
                return trial._trial_id
        except UpdateFinishedTrialError:
            continue
    return None


def retire(storage: optuna.storages.BaseStorage, trial_id: int, why: str) -> bool:
    """Fail a RUNNING trial this worker holds and never ran (nothing trained, no parameters drawn), saying why;
    False when it had ended."""
    try:
        storage.set_trial_system_attr(trial_id, NOT_RUN_KEY, why)
    except UpdateFinishedTrialError:
        return False
    return finish_first(storage, trial_id, TrialState.FAIL)


def retire_unrun(study: optuna.Study) -> list[int]:
    """Fail every trial still queued in a full study (it lost the race for the last slot): the numbers retired.
    Each is taken first (WAITING -> RUNNING, one caller wins), so a trial another worker popped meanwhile is
    left to that worker."""
    storage, retired = study._storage, []
    with sqlite_claim_lock(storage):
        for trial in storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,)):
            if pop_waiting(study, [trial]) is not None and retire(storage, trial._trial_id,
                                                                   "the study was full before it ran"):
                retired.append(trial.number)
    return retired


def count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study._storage.get_all_trials(study._study_id, deepcopy=False, states=states))


def fail_stale_trials(study: optuna.Study, watch: StaleWatch, trials: list[FrozenTrial] | None = None) -> list[int]:
    """Fail the running trials whose worker went silent and queue each again (once, by whoever failed it).
    `trials`: the study's trials if just read."""
    storage, failed = study._storage, []
    if trials is None:
        trials = storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.RUNNING,))
    for trial in watch.stale(trials):
        if finish_first(storage, trial._trial_id, TrialState.FAIL):
            requeue(study, trial._trial_id)
            failed.append(trial.number)
    return failed


def requeue(study: optuna.Study, trial_id: int) -> None:
    """Queue a failed trial's parameters again (Optuna's retry callback: at most MAX_RETRIES times per trial)."""
    frozen = copy.deepcopy(study._storage.get_trial(trial_id))
    frozen.system_attrs = {k: v for k, v in frozen.system_attrs.items() if k not in NOT_INHERITED}
    optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)(study, frozen)


def finish_first(storage: optuna.storages.BaseStorage, trial_id: int, state: TrialState) -> bool:
    """Move an unfinished trial to `state`; False when another worker finished it first."""
    with sqlite_claim_lock(storage):
        try:
            return bool(storage.set_trial_state_values(trial_id, state=state))
        except UpdateFinishedTrialError:
            return False


def keep_late_result(study: optuna.Study, original: FrozenTrial, result: FrozenTrial, trials: int) -> int | None:
    """`result` (COMPLETE or PRUNED) belongs to `original`, which another worker failed as stale meanwhile; the
    study should hold `trials` finished trials. The number of the trial that now holds the result, or None."""
    storage = study._storage
    root = original.system_attrs.get("failed_trial", original.number)
    copies = [t for t in storage.get_all_trials(study._study_id, deepcopy=False)
              if t.system_attrs.get("failed_trial") == root and t.number > original.number]
    if any(t.state in FINISHED for t in copies):
        return _dropped(original, "its re-run already counts")
    inherited = {k: v for k, v in result.system_attrs.items() if k not in NOT_INHERITED}
    late_id = storage.create_new_trial(study._study_id, template_trial=optuna.trial.create_trial(
        state=TrialState.RUNNING, params=result.params, distributions=result.distributions,
        user_attrs=result.user_attrs, system_attrs={**inherited, LATE_KEY: original.number},
        intermediate_values=result.intermediate_values))
    for copy_trial in copies:
        if copy_trial.state not in OPEN:
            continue
        try:
            storage.set_trial_system_attr(copy_trial._trial_id, SUPERSEDED_KEY, original.number)
        except UpdateFinishedTrialError:
            pass
        if not finish_first(storage, copy_trial._trial_id, TrialState.FAIL) and \
                storage.get_trial(copy_trial._trial_id).state in FINISHED:
            finish_first(storage, late_id, TrialState.FAIL)
            return _dropped(original, f"its re-run (trial {copy_trial.number}) finished first")
    if count(study, COUNTED) > trials:
        finish_first(storage, late_id, TrialState.FAIL)
        return _dropped(original, "its slot went to another trial meanwhile")
    late_number = storage.get_trial_number_from_id(late_id)
    study.tell(late_number, result.value if result.state == TrialState.COMPLETE else None, state=result.state)
    _say(f"trial {original.number} finished after it was failed as stale: its result is kept as trial {late_number}")
    return late_number


def _dropped(original: FrozenTrial, why: str) -> None:
    _say(f"trial {original.number} finished after it was failed as stale; {why}, so its result is not stored")
    return None


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def wait_a_moment(poll_seconds: float) -> None:
    """A pause before claiming again; random, so that two workers that collided do not collide again."""
    time.sleep(poll_seconds * (0.5 + random.random()))
