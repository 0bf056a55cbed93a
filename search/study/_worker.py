"""One worker's loop: claim a trial slot, train it with a heartbeat, record it; until the study is full.

Any number of workers, on any machines, share one study this way. The study-wide lock makes
"count the trials, then start one" a single step, so the study ends with exactly `trials` finished
trials however many workers race for the last one. A worker that dies mid-trial stops beating; the
next worker to ask fails that trial and re-queues its parameters (Optuna's heartbeat retry)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from fusion_search.storage import is_transient, retry_storage, study_lock

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
COUNTED = (*FINISHED, TrialState.RUNNING)  # a running trial has its slot until it ends or goes stale
OPEN = (TrialState.RUNNING, TrialState.WAITING)


class WorkerStopped(BaseException):
    """SIGTERM: like Ctrl-C, it unwinds the current trial (failed, re-queued) and stops the worker."""

    exit_code = 143


@dataclass(frozen=True)
class WorkerSettings:
    trials: int  # finished trials the study should hold, over all workers
    timeout: float | None = None  # seconds this worker starts trials for
    poll_seconds: float = 2.0  # how often an idle worker checks for stale trials while others finish
    catch: tuple[type[Exception], ...] = (FloatingPointError, ValueError)  # a bad design: trial FAIL
    # called under the study lock before a free slot is taken (it may queue trials), e.g. the baselines' share
    before_claim: Callable[[optuna.Study], None] | None = None
    create: bool = True  # False: run only queued trials (a study of planned units), never new ones


Objective = Callable[[optuna.Trial], float]
SamplerFor = Callable[[int], optuna.samplers.BaseSampler]


def run_worker(study: optuna.Study, objective: Objective, settings: WorkerSettings,
               sampler_for: SamplerFor | None = None) -> int:
    """Run trials until the study holds settings.trials finished ones; returns how many this worker ran.
    sampler_for(trial number) gives each trial its own seeded sampler: reproducible for one worker,
    and different streams for workers that start at the same moment."""
    storage, url = study._storage, rdb_storage(study).url
    started, ran, failures = time.monotonic(), 0, 0
    with _sigterm_unwinds():
        while failures < settings.trials:
            if settings.timeout is not None and time.monotonic() - started >= settings.timeout:
                break
            trial_id = retry_storage(lambda: _claim(study, settings), url)
            if trial_id is None:
                if retry_storage(lambda: _count(study, FINISHED), url) >= settings.trials:
                    break
                if not settings.create and retry_storage(lambda: _count(study, OPEN), url) == 0:
                    break  # every planned trial has ended, some of them failed: nothing is left to run
                time.sleep(settings.poll_seconds)  # others are running the last trials; one may die
                continue
            if sampler_for is not None:
                study.sampler = sampler_for(storage.get_trial_number_from_id(trial_id))
            state = _run_trial(study, trial_id, objective, settings.catch)
            ran += 1
            failures = failures + 1 if state == TrialState.FAIL else 0
    rdb_storage(study).remove_session()
    return ran


def _claim(study: optuna.Study, settings: WorkerSettings) -> int | None:
    """Under the study lock: fail stale trials, then take a queued trial or create one if a slot is free.
    The first heartbeat is written before the lock is released, so even a worker killed at once
    leaves a trial that goes stale and is retried."""
    storage = study._storage
    with study_lock(rdb_storage(study).engine, study.study_name):
        optuna.storages.fail_stale_trials(study)
        if _count(study, COUNTED) >= settings.trials:
            return None
        if settings.before_claim is not None:
            settings.before_claim(study)
        trial_id = _pop_waiting(study)
        if trial_id is None:
            if not settings.create:
                return None
            trial_id = storage.create_new_trial(_study_id(study))
        storage.record_heartbeat(trial_id)
        return trial_id


def _run_trial(study: optuna.Study, trial_id: int, objective: Objective,
               catch: tuple[type[Exception], ...]) -> TrialState:
    url = rdb_storage(study).url
    trial = retry_storage(lambda: optuna.Trial(study, trial_id), url)
    value, state = None, TrialState.COMPLETE
    with _heartbeat(rdb_storage(study), trial_id):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except (KeyboardInterrupt, WorkerStopped):
            with suppress(Exception):  # a dead database cannot be told; the heartbeat retry covers it
                _fail_and_requeue(study, trial_id)
            raise
        except Exception as error:
            if not (is_transient(error) or isinstance(error, catch)):
                study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                raise
            if is_transient(error):  # the database went away mid-trial: run it again later
                retry_storage(lambda: _fail_and_requeue(study, trial_id), url)
                return TrialState.FAIL
            print(f"trial {trial.number} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            state = TrialState.FAIL
    finished = retry_storage(lambda: study.tell(trial, value if state == TrialState.COMPLETE else None,
                                                state=state, skip_if_finished=True), url)
    return finished.state


def _fail_and_requeue(study: optuna.Study, trial_id: int) -> None:
    """Interrupted, not wrong: fail it and queue the same parameters for the next worker."""
    storage = study._storage
    if storage.get_trial(trial_id).state.is_finished():
        return  # a retried call whose first try got through, or another worker found it stale first
    if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
        retry = storage.get_heartbeat_stale_trial_callback()
        if retry is not None:
            retry(study, storage.get_trial(trial_id))


def _pop_waiting(study: optuna.Study) -> int | None:
    storage = study._storage
    for trial in storage.get_all_trials(_study_id(study), deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING):
                return trial._trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def _count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study._storage.get_all_trials(_study_id(study), deepcopy=False, states=states))


def rdb_storage(study: optuna.Study) -> optuna.storages.RDBStorage:
    """The database storage under Optuna's per-process cache (URL, engine, sessions live there)."""
    return getattr(study._storage, "_backend", study._storage)


def _study_id(study: optuna.Study) -> int:
    return study._study_id


@contextmanager
def _heartbeat(storage: optuna.storages.RDBStorage, trial_id: int) -> Iterator[None]:
    """Optuna's own heartbeat thread dies on the first database error; this one keeps beating
    through a restart, so a trial that outlives a short outage is not taken for dead."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(storage.get_heartbeat_interval()):
            try:
                storage.record_heartbeat(trial_id)
            except Exception as error:
                if not is_transient(error):
                    raise
        storage.remove_session()

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise WorkerStopped()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
