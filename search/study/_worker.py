"""One worker's loop: claim a trial slot, train it with a heartbeat, record it; until the study is full.

Any number of workers, on any machines, share one study this way, on a database or through the gRPC storage proxy:
the claim needs no lock (see ``_claim``), so the study ends with exactly `trials` finished trials however many
workers race for the last one. A worker that dies mid-trial stops beating; the next worker to ask fails that trial
and re-queues its parameters; a worker that was only cut off keeps its late result (``keep_late_result``)."""

from __future__ import annotations

import copy
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from fusion_search.storage import (
    HEARTBEAT_SECONDS,
    RECONNECT_SECONDS,
    is_transient,
    mark_unreachable,
    record_heartbeat,
    release_connections,
    retry_storage,
    sqlite_claim_lock,
    storage_url,
)
from fusion_search.study._claim import (
    FINISHED,
    OPEN,
    SUPERSEDED_KEY,
    Claimer,
    count,
    finish_first,
    keep_late_result,
    requeue,
    retire_unrun,
    wait_a_moment,
)


class WorkerStopped(BaseException):
    """SIGTERM: like Ctrl-C, it unwinds the current trial (failed, re-queued) and stops the worker."""

    exit_code = 143


@dataclass(frozen=True)
class WorkerSettings:
    trials: int  # finished trials the study should hold, over all workers
    timeout: float | None = None  # seconds this worker starts trials for
    poll_seconds: float = 2.0  # how often an idle worker checks for stale trials while others finish
    catch: tuple[type[Exception], ...] = (FloatingPointError, ValueError)  # a bad design: trial FAIL
    # called before a free slot is taken with the study's trials; True when it queued trials (the baselines' share)
    before_claim: Callable[[optuna.Study, list[optuna.trial.FrozenTrial]], bool] | None = None
    create: bool = True  # False: run only queued trials (a study of planned units), never new ones
    retire: bool = True  # a worker that finds the study full fails what is still queued as not run (False: the
    # plan may still grow, as a confirmation's second look does, and what is queued is the next look's)
    heartbeat: float = HEARTBEAT_SECONDS  # seconds between a running trial's heartbeats
    claimed: list[float] = field(default_factory=list, compare=False)  # seconds each claim took (benchmarks)


Objective = Callable[[optuna.Trial], float]
SamplerFor = Callable[[int], optuna.samplers.BaseSampler]


def run_worker(study: optuna.Study, objective: Objective, settings: WorkerSettings,
               sampler_for: SamplerFor | None = None) -> int:
    """Run trials until the study holds settings.trials finished ones; returns how many this worker ran.
    sampler_for(trial number) gives each trial its own seeded sampler: reproducible for one worker,
    and different streams for workers that start at the same moment."""
    storage, url = study._storage, storage_url(study._storage)
    started, ran, failures = time.monotonic(), 0, 0
    claim = Claimer(study, settings.trials, settings.heartbeat, settings.create, settings.before_claim)
    with _sigterm_unwinds() as stopped:
        while failures < settings.trials:
            if settings.timeout is not None and time.monotonic() - started >= settings.timeout:
                break
            asked = time.perf_counter()
            trial_id = retry_storage(claim, url)
            settings.claimed.append(time.perf_counter() - asked)
            if trial_id is None:
                if retry_storage(lambda: count(study, FINISHED), url) >= settings.trials:
                    if settings.retire:  # full: nothing stays queued for ever
                        retry_storage(lambda: retire_unrun(study), url)
                    break
                if not settings.create and retry_storage(lambda: count(study, OPEN), url) == 0:
                    break  # every planned trial has ended, some of them failed: nothing is left to run
                wait_a_moment(settings.poll_seconds)  # others are running the last trials; one may die
                continue
            try:
                if sampler_for is not None:
                    study.sampler = sampler_for(retry_storage(lambda: storage.get_trial_number_from_id(trial_id),
                                                              url))
                state = _run_trial(study, trial_id, objective, settings, stopped)
            except (KeyboardInterrupt, WorkerStopped):  # also between the claim and the trial's own handler
                _requeue_before_stopping(study, trial_id)  # (a trial already handed back is not again)
                raise
            ran += 1
            failures = failures + 1 if state == TrialState.FAIL else 0
    release_connections(storage)
    return ran


def _run_trial(study: optuna.Study, trial_id: int, objective: Objective, settings: WorkerSettings,
               stopped: list[type[BaseException]]) -> TrialState:
    url = storage_url(study._storage)
    own = _trial_study(study)
    trial, value, state = None, None, TrialState.COMPLETE
    with _heartbeat(study._storage, trial_id, settings.heartbeat):
        try:
            trial = retry_storage(lambda: optuna.Trial(own, trial_id), url)
            value = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except SupersededError:
            print(f"trial {_number(trial, trial_id)} stopped: a late result of the same design took its place",
                  file=sys.stderr, flush=True)
            return TrialState.FAIL
        except (KeyboardInterrupt, WorkerStopped):
            _requeue_before_stopping(study, trial_id)
            raise
        except Exception as error:
            if stopped:  # the interrupt, as the framework re-raised it
                _requeue_before_stopping(study, trial_id)
                raise stopped[-1]() from error
            if not (is_transient(error) or isinstance(error, settings.catch)):
                with suppress(Exception):
                    finish_first(study._storage, trial_id, TrialState.FAIL)
                raise
            if is_transient(error):  # the database went away mid-trial: run it again later
                retry_storage(lambda: _fail_and_requeue(study, trial_id), url)
                return TrialState.FAIL
            print(f"trial {_number(trial, trial_id)} failed: {type(error).__name__}: {error}", file=sys.stderr,
                  flush=True)
            if trial is None:
                finish_first(study._storage, trial_id, TrialState.FAIL)
                return TrialState.FAIL
            state = TrialState.FAIL
        return retry_storage(lambda: _record(study, trial, value, state, settings.trials), url)


def _number(trial: optuna.Trial | None, trial_id: int) -> str:
    return str(trial.number) if trial is not None else f"(id {trial_id})"


def _record(study: optuna.Study, trial: optuna.Trial, value: float | None, state: TrialState,
            trials: int) -> TrialState:
    """Tell the result; when the trial was failed as stale meanwhile, keep it in its re-run's place."""
    with sqlite_claim_lock(study._storage):  # on SQLite, telling and failing as stale must not both succeed
        return _tell_or_keep(study, trial, value, state, trials)


def _tell_or_keep(study: optuna.Study, trial: optuna.Trial, value: float | None, state: TrialState,
                  trials: int) -> TrialState:
    storage, trial_id = study._storage, trial._trial_id
    try:
        return study.tell(trial, value if state == TrialState.COMPLETE else None, state=state).state
    except (UpdateFinishedTrialError, ValueError):
        stored = storage.get_trial(trial_id)  # failed as stale meanwhile, or told already by a retried call?
        if stored.state == TrialState.RUNNING:
            raise  # neither: the value itself was refused
    if stored.state != TrialState.FAIL or state not in FINISHED or SUPERSEDED_KEY in stored.system_attrs:
        return stored.state  # a retried tell whose first try got through, or nothing worth keeping
    late = keep_late_result(study, stored, _result_of(trial, state, value), trials)
    return state if late is not None else TrialState.FAIL


class SupersededError(BaseException):  # not an Exception: no objective's own handler may swallow it
    """The trial this worker runs was failed to make room for another worker's late result of the same design."""


def _result_of(trial: optuna.Trial, state: TrialState, value: float | None) -> optuna.trial.FrozenTrial:
    """What the trial recorded, including the writes the storage refused once the trial had been failed."""
    result = copy.deepcopy(trial._cached_frozen_trial)
    result.state, result.value = state, value if state == TrialState.COMPLETE else None
    result.system_attrs = {**trial.storage.get_trial_system_attrs(trial._trial_id), **trial.storage.refused}
    return result


def _trial_study(study: optuna.Study) -> optuna.Study:
    """The study as the running trial sees it, through a patient storage (_TrialStorage)."""
    own = copy.copy(study)
    own._storage = _TrialStorage(study._storage)
    return own


class _TrialStorage:
    """The storage as one running trial uses it. Every call waits out an outage instead of failing the trial (its
    training goes on meanwhile). A write to the trial after another worker failed it as stale is kept in memory, so
    the late result is stored whole; when a late result replaced this trial, the write stops the trial instead."""

    def __init__(self, storage: optuna.storages.BaseStorage):
        self._storage, self._url, self.refused = storage, storage_url(storage), {}

    def __getattr__(self, name):
        method = getattr(self._storage, name)
        if not callable(method):
            return method
        return lambda *args, **kwargs: retry_storage(lambda: method(*args, **kwargs), self._url)

    def _tolerate(self, trial_id: int, write: Callable[[], None], key: str | None = None, value=None) -> None:
        try:
            retry_storage(write, self._url)
        except UpdateFinishedTrialError:
            if SUPERSEDED_KEY in retry_storage(lambda: self._storage.get_trial(trial_id), self._url).system_attrs:
                raise SupersededError() from None
            if key is not None:
                self.refused[key] = value

    def set_trial_param(self, trial_id, name, value, distribution):
        self._tolerate(trial_id, lambda: self._storage.set_trial_param(trial_id, name, value, distribution))

    def set_trial_intermediate_value(self, trial_id, step, value):
        self._tolerate(trial_id, lambda: self._storage.set_trial_intermediate_value(trial_id, step, value))

    def set_trial_user_attr(self, trial_id, key, value):
        self._tolerate(trial_id, lambda: self._storage.set_trial_user_attr(trial_id, key, value))

    def set_trial_system_attr(self, trial_id, key, value):
        self._tolerate(trial_id, lambda: self._storage.set_trial_system_attr(trial_id, key, value), key, value)


def _requeue_before_stopping(study: optuna.Study, trial_id: int) -> None:
    with suppress(Exception):  # a dead database cannot be told; the heartbeat retry covers it
        _fail_and_requeue(study, trial_id)


def _fail_and_requeue(study: optuna.Study, trial_id: int) -> None:
    """Interrupted, not wrong: fail it and queue the same parameters for the next worker."""
    if finish_first(study._storage, trial_id, TrialState.FAIL):
        requeue(study, trial_id)


@contextmanager
def _heartbeat(storage: optuna.storages.BaseStorage, trial_id: int, interval: float) -> Iterator[None]:
    """Beats every `interval` seconds until the result is recorded; through an outage it tries again every
    RECONNECT_SECONDS, so a trial that outlives the outage is heard again as soon as the storage is back."""
    stop = threading.Event()

    def beat() -> None:
        wait, told = interval, False
        while not stop.wait(wait):
            try:
                record_heartbeat(storage, trial_id)
                wait = interval
            except UpdateFinishedTrialError:
                wait = interval  # failed as stale meanwhile: the trial ends at its next write, or keeps its result
            except Exception as error:  # never let the beat die while the trial trains: it would be failed as stale
                if is_transient(error):
                    mark_unreachable()
                elif not told:
                    print(f"heartbeat of trial {trial_id}: {type(error).__name__}: {error}", file=sys.stderr,
                          flush=True)
                told, wait = True, RECONNECT_SECONDS
        release_connections(storage)

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _sigterm_unwinds() -> Iterator[list[type[BaseException]]]:
    """SIGTERM unwinds like Ctrl-C. Both are remembered, in the list this yields: a framework may turn the interrupt
    into an error of its own (a data-loading thread cut off mid-batch), and the trial must still be failed and
    re-queued, not lost. The list is this run's own: a later run in the same process (a notebook after a Ctrl-C)
    starts with none, so its ordinary trial errors stay errors."""
    stopped: list[type[BaseException]] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def stop(kind: type[BaseException]):
        def handler(signum, frame):
            stopped.append(kind)
            raise kind()
        return handler

    previous = {number: signal.signal(number, stop(kind))
                for number, kind in ((signal.SIGTERM, WorkerStopped), (signal.SIGINT, KeyboardInterrupt))}
    try:
        yield stopped
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
