"""The worker loop without a lock: exact trial counts under racing claims, stale trials retried once, late results
kept in their re-run's place (through the gRPC storage proxy: tests/distributed/test_proxy.py)."""

from __future__ import annotations

import os
import signal
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from fusion_search.storage import HEARTBEAT_KEY, StaleWatch, open_storage, record_heartbeat
from fusion_search.study import state_counts
from fusion_search.study._claim import LATE_KEY, NOT_RUN_KEY, SUPERSEDED_KEY, Claimer, fail_stale_trials
from fusion_search.study._worker import WorkerSettings, run_worker

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def new_study(url: str, name: str = "s") -> optuna.Study:
    return optuna.create_study(study_name=name, storage=open_storage(url), direction="maximize",
                               load_if_exists=True)


def states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def workers_in_threads(url: str, count: int, trials: int, objective, **settings) -> list[int]:
    """`count` workers, each with its own storage connection (as separate processes would have)."""
    ran = [0] * count

    def work(i: int) -> None:
        study = optuna.load_study(study_name="s", storage=open_storage(url))
        ran[i] = run_worker(study, objective, WorkerSettings(trials=trials, poll_seconds=0.05, heartbeat=1,
                                                             **settings))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return ran


def quick(trial: optuna.Trial) -> float:
    time.sleep(0.01)
    return trial.suggest_float("x", 0, 1)


def test_racing_workers_end_with_exactly_the_requested_trials(tmp_path):
    """Half the trials queued, half created: each queued trial is taken by exactly one worker (on SQLite thanks to
    the claim's file lock), and no claim overfills the study."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = new_study(url)
    for i in range(15):
        study.enqueue_trial({"x": i / 15})
    ran = workers_in_threads(url, 6, 30, quick)
    counts = states(study)
    assert counts["COMPLETE"] == 30 and sum(ran) == 30
    assert set(counts) <= {"COMPLETE", "FAIL"} and not study.get_trials(states=(TrialState.WAITING,))
    assert counts.get("FAIL", 0) == state_counts(study).get("NOT RUN", 0)  # only claims that lost the last slot


def test_a_created_trial_that_would_overfill_the_study_is_failed_as_not_run(tmp_path):
    study = new_study(f"sqlite:///{tmp_path / 's.db'}")
    first = Claimer(study, trials=1, heartbeat=1)()
    assert first is not None and Claimer(study, trials=1, heartbeat=1)() is None  # full: no second trial started
    # Another worker claims the last slot between this claim's first count and its own trial: hand it back.
    racer = []
    racing = lambda s, now: racer.append(s._storage.create_new_trial(s._study_id)) or False  # noqa: E731
    assert Claimer(study, trials=2, heartbeat=1, before_claim=racing)() is None
    assert states(study) == {"RUNNING": 2, "FAIL": 1} and racer[0] != first  # the created loser holds nothing: failed
    loser = study.get_trials(states=(TrialState.FAIL,))[0]
    assert loser.system_attrs[NOT_RUN_KEY] == "lost the race for the last slot"
    assert state_counts(study) == {"RUNNING": 2, "NOT RUN": 1}


class Choreographed:
    """A storage seen by one thread, whose calls wait for and announce events, so that two claims interleave in
    one chosen order: `waits[(method, k)]` is the event the k-th call of that method (counted from 1) waits for
    before it runs, `announces[(method, k)]` the event it sets once it has run."""

    def __init__(self, storage, waits: dict, announces: dict):
        self._storage, self._waits, self._announces, self._calls = storage, waits, announces, {}

    def __getattr__(self, name):
        method = getattr(self._storage, name)
        if not callable(method) or name.startswith("_"):
            return method

        def call(*args, **kwargs):
            k = self._calls[name] = self._calls.get(name, 0) + 1
            if (event := self._waits.get((name, k))) is not None:
                assert event.wait(10), f"{name} call {k} waited in vain"
            try:
                return method(*args, **kwargs)
            finally:
                if (event := self._announces.get((name, k))) is not None:
                    event.set()
        return call


def test_a_queued_trial_a_racer_handed_back_is_run_and_never_stranded_waiting():
    """The review's race, N - 1 trials finished and C queued: workers A and B both pass the count check; A takes C;
    B, losing C, creates Y; A recounts, sees N + 1 and hands C back; B recounts after that and sees N. Before,
    B kept Y and C stayed WAITING for ever (and the baselines' budget counted it as taken). Now B's created Y gives
    its slot to C, so the study ends with exactly N finished trials, C among them, and nothing queued."""
    storage, n = optuna.storages.InMemoryStorage(), 3
    study = optuna.create_study(storage=storage, direction="maximize")
    for value in range(n - 1):
        study.add_trial(optuna.trial.create_trial(value=float(value)))
    study.enqueue_trial({"x": 0.5}, user_attrs={"role": "baseline tuning"})
    queued = study.get_trials(states=(TrialState.WAITING,))[0]
    read_a, read_b, popped_a, created_b, handed_back = (threading.Event() for _ in range(5))
    a = Choreographed(storage, waits={("set_trial_state_values", 1): read_b, ("get_all_trials", 2): created_b},
                      announces={("get_all_trials", 1): read_a, ("set_trial_state_values", 1): popped_a,
                                 ("set_trial_state_values", 2): handed_back})
    b = Choreographed(storage, waits={("get_all_trials", 1): read_a, ("set_trial_state_values", 1): popped_a,
                                      ("get_all_trials", 2): handed_back},
                      announces={("get_all_trials", 1): read_b, ("create_new_trial", 1): created_b})
    claims = {}

    def claim(name, choreographed):
        claims[name] = Claimer(optuna.Study(study.study_name, choreographed), trials=n, heartbeat=3600)()

    threads = [threading.Thread(target=claim, args=pair) for pair in (("A", a), ("B", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert claims["A"] is None and claims["B"] == queued._trial_id  # the queued trial went before the new one
    study.tell(queued.number, 1.0)
    assert Claimer(study, trials=n, heartbeat=3600)() is None  # full
    assert states(study) == {"COMPLETE": n, "FAIL": 1}  # the created trial that gave way, marked not run
    assert not study.get_trials(states=(TrialState.WAITING,))


def test_a_queued_trial_another_worker_pops_while_the_full_study_is_tidied_is_left_running_to_it():
    """retire_unrun reads the queue, then another worker (its decision read older than the study's end) pops one
    of those trials: that trial is the other worker's, RUNNING, not failed under it."""
    from fusion_search.study._claim import retire_unrun

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, direction="maximize")
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": 0.6})
    first = study.get_trials(states=(TrialState.WAITING,))[0]
    read, popped = threading.Event(), threading.Event()
    tidy = Choreographed(storage, waits={("set_trial_state_values", 1): popped},
                         announces={("get_all_trials", 1): read})

    def other_worker():
        assert read.wait(10)
        storage.set_trial_state_values(first._trial_id, TrialState.RUNNING)
        popped.set()

    popping = threading.Thread(target=other_worker)
    popping.start()
    assert retire_unrun(optuna.Study(study.study_name, tidy)) == [1]  # only the one still queued
    popping.join(10)
    assert storage.get_trial(first._trial_id).state == TrialState.RUNNING
    assert NOT_RUN_KEY not in storage.get_trial(first._trial_id).system_attrs


def test_a_trial_still_queued_when_the_study_is_full_is_failed_as_not_run_by_the_worker_that_ends(tmp_path):
    study = new_study(f"sqlite:///{tmp_path / 's.db'}")
    for value in range(2):
        study.add_trial(optuna.trial.create_trial(value=float(value)))
    study.enqueue_trial({"x": 0.5})  # lost the last slot to a racer: nobody can run it any more
    assert run_worker(study, quick, WorkerSettings(trials=2, poll_seconds=0.05, heartbeat=1)) == 0
    assert states(study) == {"COMPLETE": 2, "FAIL": 1} and state_counts(study) == {"COMPLETE": 2, "NOT RUN": 1}
    assert study.trials[-1].system_attrs[NOT_RUN_KEY] == "the study was full before it ran"


class Clock:
    """The judge's monotonic clock, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def judge(monkeypatch, reachable: float = 1e9) -> tuple[Clock, StaleWatch]:
    """A stale-trial judge with a hand-moved clock, heartbeat interval 1 s: grace 3 x 1 s + 2 s = 5 s."""
    monkeypatch.setattr("fusion_search.storage._liveness.reachable_for", lambda: reachable)
    clock = Clock()
    return clock, StaleWatch(1, clock)


def test_a_silent_trial_is_failed_once_and_its_parameters_queued_again(tmp_path, monkeypatch):
    study = new_study(f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    clock, watch = judge(monkeypatch)
    assert fail_stale_trials(study, watch) == []  # first sight
    clock.now += 4
    assert fail_stale_trials(study, watch) == []  # 4 s of silence: within the grace
    clock.now += 2
    assert fail_stale_trials(study, watch) == [trial.number]
    assert fail_stale_trials(study, watch) == []  # already failed: not again, not queued twice
    copies = study.get_trials(states=(TrialState.WAITING,))
    assert len(copies) == 1 and copies[0].params == trial.params and HEARTBEAT_KEY not in copies[0].system_attrs


def test_a_trial_that_beats_is_never_stale_whatever_the_clocks_say(tmp_path, monkeypatch):
    study = new_study(f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    clock, watch = judge(monkeypatch)
    for _ in range(10):  # 40 s on the judge's clock, a beat every 4 s: never 5 s of silence
        assert fail_stale_trials(study, watch) == []
        record_heartbeat(study._storage, trial._trial_id)
        clock.now += 4
    assert study.get_trials()[0].state == TrialState.RUNNING


def test_no_trial_is_judged_stale_until_the_judge_has_reached_the_storage_for_a_whole_grace(tmp_path, monkeypatch):
    study = new_study(f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    clock, watch = judge(monkeypatch)
    fail_stale_trials(study, watch)
    clock.now += 60
    monkeypatch.setattr("fusion_search.storage._liveness.reachable_for", lambda: 4.0)  # back from an outage 4 s ago
    assert fail_stale_trials(study, watch) == []  # nobody could beat during the outage: wait a whole grace
    monkeypatch.setattr("fusion_search.storage._liveness.reachable_for", lambda: 6.0)
    assert fail_stale_trials(study, watch) == [trial.number]


def cut_off_then_finish(study_url: str, monkeypatch, meanwhile) -> list[optuna.trial.FrozenTrial]:
    """A worker whose trial is failed as stale by a judge mid-way (the worker was cut off, not dead), and which
    then finishes (0.6); `meanwhile(judge_study, trial_number)` runs between. What the study ends up holding."""
    clock, watch = judge(monkeypatch)
    other = optuna.load_study(study_name="s", storage=open_storage(study_url))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.report(0.5, step=0)
        fail_stale_trials(other, watch)
        clock.now += 60
        assert fail_stale_trials(other, watch) == [trial.number]
        meanwhile(other, watch)
        trial.report(0.8, step=1)  # refused by the storage now: kept in memory for the late result
        trial.set_user_attr("fold_aucs", [0.5, 0.8])
        return 0.6 + 0 * x

    study = optuna.load_study(study_name="s", storage=open_storage(study_url))
    run_worker(study, objective, WorkerSettings(trials=1, poll_seconds=0.05, heartbeat=30))
    return study.get_trials()


def finished(trials) -> int:
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)


def test_a_late_result_takes_the_place_of_its_queued_copy_and_the_count_stays_exact(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    new_study(url)
    original, copy, late = cut_off_then_finish(url, monkeypatch, lambda other, watch: None)
    assert original.state == TrialState.FAIL
    assert copy.state == TrialState.FAIL and copy.system_attrs[SUPERSEDED_KEY] == original.number
    assert late.state == TrialState.COMPLETE and late.value == 0.6 and late.system_attrs[LATE_KEY] == original.number
    assert late.params == original.params and late.intermediate_values == {0: 0.5, 1: 0.8}
    assert late.user_attrs["fold_aucs"] == [0.5, 0.8]


def test_a_late_result_replaces_a_copy_the_judge_took_and_still_counts_once(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    new_study(url)
    taken = []

    def judge_claims(other, watch):
        taken.append(Claimer(other, trials=1, heartbeat=1, watch=watch)())  # the judge takes the queued copy

    trials = cut_off_then_finish(url, monkeypatch, judge_claims)
    copy = next(t for t in trials if t._trial_id == taken[0])
    assert copy.system_attrs.get("failed_trial") == 0 and copy.state == TrialState.FAIL  # stopped, superseded
    assert finished(trials) == 1 and trials[-1].system_attrs[LATE_KEY] == 0


def test_a_late_result_is_not_counted_twice_when_its_copy_already_finished(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    new_study(url)

    def copy_runs_first(other, watch):
        other.tell(other._storage.get_trial_number_from_id(Claimer(other, trials=1, heartbeat=1)()), 0.7)

    trials = cut_off_then_finish(url, monkeypatch, copy_runs_first)
    assert finished(trials) == 1 and trials[1].value == 0.7 and trials[1].params == trials[0].params


def test_a_late_result_is_dropped_when_its_slot_went_to_another_trial(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    new_study(url)

    def another_trial_takes_the_slot(other, watch):
        other._storage.create_new_trial(other._study_id)  # a claim that got there first (RUNNING)

    trials = cut_off_then_finish(url, monkeypatch, another_trial_takes_the_slot)
    running_or_done = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.COMPLETE)]
    assert len(running_or_done) == 1 and running_or_done[0].state == TrialState.RUNNING  # never 2 in a 1-trial study


def test_a_copy_replaced_by_a_late_result_stops_at_its_next_report(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = new_study(url)
    reports = []

    def objective(trial: optuna.Trial) -> float:
        trial.report(0.5, step=0)
        reports.append(0)
        study._storage.set_trial_system_attr(trial._trial_id, SUPERSEDED_KEY, 99)  # what keep_late_result does
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        trial.report(0.6, step=1)
        reports.append(1)
        return 0.6

    run_worker(study, objective, WorkerSettings(trials=1, poll_seconds=0.05, heartbeat=1, timeout=2))
    assert reports == [0] and study.get_trials()[0].state == TrialState.FAIL


def test_an_interrupt_does_not_poison_the_next_run_in_the_same_process(tmp_path):
    """A notebook: the first search is stopped with Ctrl-C (which the framework re-raised as its own error), the
    next one's ordinary trial error stays an error: its trial FAILs, no KeyboardInterrupt, nothing re-queued."""
    url = f"sqlite:///{tmp_path / 's.db'}"

    def interrupted(trial: optuna.Trial) -> float:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
        except KeyboardInterrupt as error:
            raise RuntimeError("data loader cut off") from error  # as a framework re-raises it
        return 0.5

    first = new_study(url, "first")
    with pytest.raises(KeyboardInterrupt):
        run_worker(first, interrupted, WorkerSettings(trials=1, poll_seconds=0.05, heartbeat=1))
    assert states(first) == {"FAIL": 1, "WAITING": 1}  # failed and re-queued

    def wrong(trial: optuna.Trial) -> float:
        raise ValueError("a bad design")

    second = new_study(url, "second")
    assert run_worker(second, wrong, WorkerSettings(trials=1, poll_seconds=0.05, heartbeat=1)) == 1
    assert states(second) == {"FAIL": 1}
