"""Workers that reach PostgreSQL only through `fusion-search storage-proxy` (grpc://host:port): the same exact
trial count, retry of a killed worker's trial and confirmation as with the database itself, on a few connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import sqlalchemy

from fusion_search.storage import PROXY_CONNECTIONS
from tests.distributed._workers import (
    free_port,
    load,
    running,
    start_proxy,
    start_worker,
    states,
    wait_for,
    worker_command,
)

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
    assert counts["COMPLETE"] == 12 and set(counts) <= {"COMPLETE", "WAITING"}
    assert "confirmation" in study.user_attrs  # the units ran through the proxy too
    assert states(load(pg_url, "dist:confirm")).keys() == {"COMPLETE"}
    assert 1 <= peak <= PROXY_CONNECTIONS  # the workers held none of their own

    status = subprocess.run([sys.executable, "-m", "fusion_search.cli", "status", "--study", "dist"],
                            env=dict(os.environ, FUSION_SEARCH_STORAGE=proxy), capture_output=True, text=True,
                            timeout=120)
    assert status.returncode == 0 and "12 complete" in status.stdout, status.stderr[-2000:]


def test_a_killed_workers_trial_is_retried_through_the_proxy(pg_url, proxy, tiny_manifest, fast_space, tmp_path):
    command = worker_command(tiny_manifest, fast_space, "dist", 5, "--confirm-repeats", "0")
    victim = start_worker(command, proxy, tmp_path / "victim.log")
    assert wait_for(lambda: running(pg_url) == 1, timeout=90), "the first worker never started a trial"
    survivor = start_worker(command, proxy, tmp_path / "survivor.log")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert survivor.wait(timeout=240) == 0, (tmp_path / "survivor.log").read_text()[-3000:]

    study = load(pg_url)
    counts = states(study)
    assert counts["COMPLETE"] == 5 and counts.get("RUNNING", 0) == 0 and counts["FAIL"] == 1
    killed = next(t for t in study.get_trials() if t.state.name == "FAIL")
    rerun = [t for t in study.get_trials() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(rerun) == 1 and rerun[0].state.name == "COMPLETE"
