"""Many worker processes, one PostgreSQL study: exact trial counts, no zombies, no duplicate designs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from fusion_search.designs import baseline_fusions
from tests.distributed._workers import (
    complete_numbers,
    kill_a_worker_mid_trial,
    load,
    param_sets,
    ride_out_an_outage,
    running,
    sampled,
    start_worker,
    states,
    wait_for,
    worker_command,
)

pytestmark = pytest.mark.distributed


def test_three_launched_workers_end_with_exactly_the_requested_trials(pg_url, tiny_manifest, fast_space, tmp_path):
    log = tmp_path / "launch.log"
    command = [sys.executable, "-m", "fusion_search.cli", "launch", "--workers", "3", *worker_command(
        tiny_manifest, fast_space, "dist", 12)[4:]]
    launcher = start_worker(command, pg_url, log)
    assert launcher.wait(timeout=240) == 0, log.read_text()[-3000:]

    study = load(pg_url)
    counts = states(study)
    # NOT RUN: claims that lost the race for the last slot (search/study/_claim.py); nothing is left queued
    assert counts["COMPLETE"] == 12 and set(counts) <= {"COMPLETE", "NOT RUN"}
    status = subprocess.run([sys.executable, "-m", "fusion_search.cli", "status", "--study", "dist"],
                            env=dict(os.environ, FUSION_SEARCH_STORAGE=pg_url), capture_output=True, text=True,
                            timeout=120)
    assert status.returncode == 0 and "12 complete" in status.stdout and "waiting" not in status.stdout
    baselines = [t for t in study.get_trials() if t.user_attrs.get("role") == "baseline"]
    assert sorted(t.params["fusion"] for t in baselines) == sorted(baseline_fusions())  # each exactly once
    chosen = param_sets(sampled(study))
    assert len(chosen) == 12 - len(baselines)
    tuned = [params for params in chosen if len(params) > 1]  # gbdt_only has no knob in this space: it may repeat
    assert tuned and len(set(tuned)) == len(tuned)  # continuous knobs: a repeat is a bug
    output = log.read_text()
    assert all(f"[w{i}] " in output for i in range(3))  # each worker's output streamed, prefixed


def test_workers_that_finish_together_run_the_confirmation_once(pg_url, tiny_manifest, fast_space, tmp_path):
    """Three workers reach the study's end at about the same time; they share the confirmation's units and
    each unit runs exactly once (2 folds x R = 1 repeat x each trial that some confirmed role uses, and again each
    member that a shuffled control trains)."""
    log = tmp_path / "launch.log"
    command = [sys.executable, "-m", "fusion_search.cli", "launch", "--workers", "3", *worker_command(
        tiny_manifest, fast_space, "dist", 16)[4:]]
    assert start_worker(command, pg_url, log).wait(timeout=300) == 0, log.read_text()[-3000:]
    companion = load(pg_url, "dist:confirm")
    keys = [(t.user_attrs["trial"], t.user_attrs["repeat"], t.user_attrs["fold"], t.user_attrs.get("shuffled"))
            for t in companion.get_trials()]
    plan = companion.user_attrs["plan"]
    members = {int(n) for role in plan["roles"].values() for n in role}
    shuffled = sum(map(len, plan["control"].values()))  # members the shuffled controls train again
    assert len(keys) == len(set(keys)) == (len(members) + shuffled) * 1 * 2 and len(members) >= 4 and shuffled >= 2
    assert states(companion) == {"COMPLETE": len(keys)}  # nothing queued, nothing twice
    summary = load(pg_url).user_attrs["confirmation"]
    assert {"fusion", *baseline_fusions()} <= set(summary["designs"])
    assert all(len(design["aucs"]) == 2 for design in summary["designs"].values())


def test_a_killed_workers_trial_is_failed_and_run_again(pg_url, tiny_manifest, fast_space, tmp_path):
    study = kill_a_worker_mid_trial(worker_command(tiny_manifest, fast_space, "dist", 5), pg_url, pg_url, tmp_path)
    counts = states(study)
    assert counts["COMPLETE"] == 5 and counts["RUNNING"] == 0 and counts["FAIL"] == 1 and counts["WAITING"] == 0
    killed = next(t for t in study.get_trials() if t.state.name == "FAIL")
    rerun = [t for t in study.get_trials() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(rerun) == 1 and rerun[0].state.name == "COMPLETE"
    # The same design again: what the killed trial had suggested, or (killed before its first
    # suggestion) the parameters it was enqueued with.
    expected = killed.params or killed.system_attrs.get("fixed_params", {})
    assert {name: rerun[0].params[name] for name in expected} == expected


def test_workers_wait_out_a_database_outage_and_finish(pg_url, tiny_manifest, fast_space, tmp_path):
    command = worker_command(tiny_manifest, fast_space, "dist", 5)
    study, _, logs = ride_out_an_outage(command, pg_url, pg_url, tmp_path, seconds=4)
    counts = states(study)
    assert counts["COMPLETE"] == 5 and counts["RUNNING"] == 0 and counts["WAITING"] == 0
    assert any("unreachable" in log for log in logs)  # it was felt


def test_an_outage_longer_than_the_grace_loses_no_finished_result(pg_url, tiny_manifest, fast_space, tmp_path):
    """120 s without the database, against a stale grace of 3 x 1 s + 2 s: the trials running when it began
    finish during it, wait to be recorded, and are recorded; nobody fails them as stale afterwards."""
    command = worker_command(tiny_manifest, fast_space, "dist", 6)
    study, cut_off, _ = ride_out_an_outage(command, pg_url, pg_url, tmp_path, seconds=120)
    counts = states(study)
    assert counts["COMPLETE"] == 6 and counts["RUNNING"] == 0 and "FAIL" not in counts and "WAITING" not in counts
    assert complete_numbers(study) >= cut_off


def test_ctrl_c_on_launch_stops_workers_and_leaves_no_running_trial(pg_url, tiny_manifest, fast_space, tmp_path):
    log = tmp_path / "launch.log"
    command = [sys.executable, "-m", "fusion_search.cli", "launch", "--workers", "2", *worker_command(
        tiny_manifest, fast_space, "dist", 50)[4:]]
    launcher = start_worker(command, pg_url, log)
    assert wait_for(lambda: running(pg_url) >= 1, timeout=90), "no worker started a trial"
    launcher.send_signal(signal.SIGINT)
    assert launcher.wait(timeout=90) == 128 + signal.SIGINT, log.read_text()[-3000:]

    study = load(pg_url)
    counts = states(study)
    assert counts["RUNNING"] == 0 and counts["FAIL"] >= 1
    requeued = {n for t in study.get_trials() for n in t.system_attrs.get("retry_history", [])}
    failed = {t.number for t in study.get_trials() if t.state.name == "FAIL"}
    assert failed <= requeued  # each interrupted trial was queued again with the same parameters
