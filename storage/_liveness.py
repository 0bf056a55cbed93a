"""Heartbeats kept as a trial attribute (so they work the same on a database and through the gRPC proxy), and
which running trials count as dead.

A worker writes into its running trial every `interval` seconds. Another worker judges a trial dead when its beat
(and its start) has not changed for longer than the grace, timed on the judge's own monotonic clock while it was
watching and could reach the storage: no two machines' clocks or time zones are ever compared. The grace is sized
from the interval and the retry window: STALE_AFTER_BEATS missed beats, plus RECONNECT_SECONDS, the longest a live
worker's heartbeat waits between tries while the storage is away."""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from fusion_search.storage._retry import reachable_for

HEARTBEAT_KEY = "fusion_search:heartbeat"
HEARTBEAT_SECONDS = 30  # a worker's RUNNING trial proves it is alive this often
STALE_AFTER_BEATS = 3  # missed beats before another worker fails the trial and re-queues it
RECONNECT_SECONDS = 2.0  # a heartbeat that could not be written is tried again this often
MAX_RETRIES = 3  # a trial whose worker keeps dying is re-run at most this often


def grace_seconds(interval: float) -> float:
    """How long a running trial may go unheard before it is failed as stale."""
    return STALE_AFTER_BEATS * interval + RECONNECT_SECONDS


def record_heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> None:
    storage.set_trial_system_attr(trial_id, HEARTBEAT_KEY, time.time())  # any new value will do; time helps people


class StaleWatch:
    """One judge's view of the running trials: when it first saw each one's current beat."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.grace, self.clock = grace_seconds(interval), clock
        self._seen: dict[int, tuple[tuple, float]] = {}  # trial id -> (its beat and start, first seen so)

    def stale(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """The running trials among `trials` that have not beaten for longer than the grace. The watch counts only
        from when this process last reached the storage: after an outage nobody could beat, so it starts afresh."""
        now = self.clock()
        since = now - reachable_for()
        seen, found = {}, []
        for trial in trials:
            if trial.state != TrialState.RUNNING:
                continue
            mark = (trial.system_attrs.get(HEARTBEAT_KEY), trial.datetime_start)
            previous = self._seen.get(trial._trial_id)
            first = previous[1] if previous is not None and previous[0] == mark else now
            seen[trial._trial_id] = (mark, first)
            if now - max(first, since) > self.grace:
                found.append(trial)
        self._seen = seen
        return found
