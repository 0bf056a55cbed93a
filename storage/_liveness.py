"""Heartbeats kept as a trial attribute (so they work the same on a database and through the gRPC proxy), and
which running trials count as dead.

A worker writes the wall-clock time into its running trial every `interval` seconds. A trial whose last beat is
older than the grace is stale: its worker died. The grace is sized from the interval and the retry window: a live
worker misses STALE_AFTER_BEATS beats before it is doubted, plus RECONNECT_SECONDS, the longest its heartbeat waits
between tries while the storage is away, so a worker that rode out an outage is heard again before anyone judges
it. Beats compare clocks of different machines: keep them NTP-synchronised (seconds of skew, against a grace of
tens of seconds)."""

from __future__ import annotations

import time

import optuna
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_KEY = "fusion_search:heartbeat"
HEARTBEAT_SECONDS = 30  # a worker's RUNNING trial proves it is alive this often
STALE_AFTER_BEATS = 3  # missed beats before another worker fails the trial and re-queues it
RECONNECT_SECONDS = 2.0  # a heartbeat that could not be written is tried again this often
MAX_RETRIES = 3  # a trial whose worker keeps dying is re-run at most this often


def grace_seconds(interval: float) -> float:
    """How long a running trial may go unheard before it is failed as stale."""
    return STALE_AFTER_BEATS * interval + RECONNECT_SECONDS


def record_heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> None:
    storage.set_trial_system_attr(trial_id, HEARTBEAT_KEY, time.time())


def last_heartbeat(trial: FrozenTrial) -> float:
    """When the trial was last heard of: its last beat or when it was (re)started, whichever is later (a re-queued
    copy carries its original's old beat until its new owner's first one)."""
    beat = float(trial.system_attrs.get(HEARTBEAT_KEY, 0.0))
    started = trial.datetime_start.timestamp() if trial.datetime_start is not None else 0.0
    return max(beat, started) or time.time()


def stale_trials(trials: list[FrozenTrial], interval: float, now: float | None = None) -> list[FrozenTrial]:
    """The running trials among `trials` that have been silent for longer than the grace."""
    now = time.time() if now is None else now
    grace = grace_seconds(interval)
    return [t for t in trials if t.state == TrialState.RUNNING and now - last_heartbeat(t) > grace]
