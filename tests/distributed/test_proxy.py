"""Workers that reach PostgreSQL only through `fusion-search storage-proxy` (grpc://host:port): the same exact
trial count, retry of a killed worker's trial and confirmation as with the database itself, on a few connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from fusion_search import UserError
from fusion_search.storage import HEARTBEAT_KEY, PROXY_CONNECTIONS, serve_storage_proxy
from fusion_search.study import WorkerSettings, run_worker
from tests.distributed._workers import (
    complete_numbers,
    free_port,
    kill_a_worker_mid_trial,
    load,
    ride_out_an_outage,
    start_proxy,
    start_worker,
    states,
    wait_for,
    worker_command,
)
from tests.study.test_worker import new_study, quick, workers_in_threads

pytestmark = pytest.mark.distributed


@pytest.fixture
def proxy(pg_url, tmp_path):
    port = free_port()
    server = start_proxy(pg_url, port, tmp_path / "proxy.log")
    yield f"grpc://127.0.0.1:{port}"
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0, (tmp_path / "proxy.log").read_text()[-3000:]


def connections(pg_url: str) -> int:
    database = sqlalchemy.engine.make_url(pg_url).database
    admin = sqlalchemy.create_engine(pg_url.rsplit("/", 1)[0] + "/postgres")
    with admin.connect() as connection:
        found = connection.execute(sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db"),
                                   {"db": database}).scalar_one()
    admin.dispose()
    return int(found)


def test_workers_through_the_proxy_reach_the_exact_count_and_confirm(pg_url, proxy, tiny_manifest, fast_space,
                                                                       tmp_path):
    log = tmp_path / "launch.log"
    command = [sys.executable, "-m", "fusion_search.cli", "launch", "--workers", "3", *worker_command(
        tiny_manifest, fast_space, "dist", 12)[4:]]
    launcher = start_worker(command, proxy, log)
    peak = 0
    while launcher.poll() is None:
        peak = max(peak, connections(pg_url))
        wait_for(lambda: launcher.poll() is not None, timeout=0.5)
    assert launcher.returncode == 0, log.read_text()[-3000:]

    study = load(pg_url)
    counts = states(study)
    assert counts["COMPLETE"] == 12 and set(counts) <= {"COMPLETE", "NOT RUN"}  # nothing left queued
    assert "confirmation" in study.user_attrs  # the units ran through the proxy too
    assert states(load(pg_url, "dist:confirm")).keys() == {"COMPLETE"}
    assert 1 <= peak <= PROXY_CONNECTIONS  # the workers held none of their own

    status = subprocess.run([sys.executable, "-m", "fusion_search.cli", "status", "--study", "dist"],
                            env=dict(os.environ, FUSION_SEARCH_STORAGE=proxy), capture_output=True, text=True,
                            timeout=120)
    assert status.returncode == 0 and "12 complete" in status.stdout and "waiting" not in status.stdout, \
        status.stderr[-2000:]


def test_a_killed_workers_trial_is_retried_through_the_proxy(pg_url, proxy, tiny_manifest, fast_space, tmp_path):
    command = worker_command(tiny_manifest, fast_space, "dist", 5, "--confirm-repeats", "0")
    counts = states(kill_a_worker_mid_trial(command, proxy, pg_url, tmp_path))
    assert counts["COMPLETE"] == 5 and counts.get("RUNNING", 0) == 0 and counts["FAIL"] == 1 and not counts["WAITING"]


def test_workers_through_the_proxy_wait_out_a_database_outage(pg_url, proxy, tiny_manifest, fast_space, tmp_path):
    """The database behind the proxy goes away for 20 s (longer than the 5 s grace): the workers wait, nothing is
    failed as stale, and the study ends with exactly its trials."""
    command = worker_command(tiny_manifest, fast_space, "dist", 6, "--confirm-repeats", "0")
    study, cut_off, logs = ride_out_an_outage(command, proxy, pg_url, tmp_path, seconds=20)
    counts = states(study)
    assert counts["COMPLETE"] == 6 and not {"FAIL", "RUNNING", "WAITING"} & set(counts)
    assert complete_numbers(study) >= cut_off and any("unreachable" in log for log in logs)


@pytest.fixture
def inprocess_proxy(pg_url):
    """The same proxy server in a thread of this process, in front of the test's PostgreSQL database."""
    port, ready, stop = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=serve_storage_proxy, args=(pg_url, "127.0.0.1", port),
                              kwargs={"ready": ready, "stop": stop}, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield f"grpc://127.0.0.1:{port}"
    stop.set()
    thread.join(30)


def test_racing_workers_through_the_proxy_take_each_queued_trial_once(inprocess_proxy):
    study = new_study(inprocess_proxy)
    for i in range(8):
        study.enqueue_trial({"x": i / 8})
    ran = workers_in_threads(inprocess_proxy, 4, 16, quick)
    counts = states(study)
    assert counts["COMPLETE"] == 16 and sum(ran) == 16 and not study.get_trials(states=(TrialState.WAITING,))


def test_a_running_trial_beats_through_the_proxy(inprocess_proxy):
    study = new_study(inprocess_proxy)

    def slow(trial: optuna.Trial) -> float:
        time.sleep(2.5)  # the heartbeat (every 1 s) writes twice meanwhile
        return 0.5

    run_worker(study, slow, WorkerSettings(trials=1, heartbeat=1))
    trial = study.get_trials()[0]
    assert trial.state == TrialState.COMPLETE
    assert trial.datetime_start.timestamp() + 1 <= trial.system_attrs[HEARTBEAT_KEY] <= time.time()


def test_the_proxy_refuses_to_stand_in_front_of_sqlite(tmp_path):
    with pytest.raises(UserError, match="database server"):
        serve_storage_proxy(f"sqlite:///{tmp_path / 's.db'}", "127.0.0.1", free_port())
