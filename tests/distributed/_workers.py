"""Worker processes for the distributed tests, and reading their study back from the database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import sqlalchemy
from optuna.trial import TrialState

from fusion_search.study._claim import NOT_RUN_KEY

REPO = Path(__file__).resolve().parents[2]

FAST_SPACE = """
description: about a second per trial, for distributed tests
fixed:
  backbone: small_cnn
  weights: none
  image_size: 16
  trainable_blocks: 1
  epochs: 2
  patience: 0
  numeric_layers: 1
  numeric_width: 8
  head_layers: 1
  head_units: 8
  batch_size: 32
search:
  fusion:
    choices: [image_only, numeric_only, concat, late]
  numeric_units: {low: 4, high: 16, log: true}
  image_units: {low: 4, high: 16, log: true}
  fusion_units: {low: 4, high: 16, log: true}
  lr_numeric: {low: 1.0e-3, high: 1.0e-2, log: true}
  lr_fusion: {low: 1.0e-3, high: 1.0e-2, log: true}
"""


def worker_command(manifest: Path, space: Path, study: str, trials: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fusion_search.cli", "run", "--data", str(manifest), "--space", str(space),
            "--study", study, "--trials", str(trials), "--folds", "2", "--quiet", "--heartbeat", "1", *extra]


def start_worker(command: list[str], storage: str, log: Path) -> subprocess.Popen:
    """A worker process with the storage URL in the environment, as users are told to pass it."""
    env = dict(os.environ, FUSION_SEARCH_STORAGE=storage, PYTHONUNBUFFERED="1")
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)


def start_proxy(storage: str, port: int, log: Path) -> subprocess.Popen:
    """`fusion-search storage-proxy` in front of the database, listening on 127.0.0.1:port."""
    command = [sys.executable, "-m", "fusion_search.cli", "storage-proxy", "--host", "127.0.0.1", "--port", str(port)]
    return start_worker(command, storage, log)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def database_outage(url: str, seconds: float):
    """The test database refuses new connections and every open one is cut, for `seconds` (the shared server
    itself keeps running for everyone else)."""
    database = sqlalchemy.engine.make_url(url).database
    admin = sqlalchemy.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false'))
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                connection.execute(sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"), {"db": database})
                time.sleep(0.2)
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def kill_a_worker_mid_trial(command: list[str], storage: str, pg_url: str, folder: Path) -> optuna.Study:
    """One worker starts a trial and is SIGKILLed; a second worker finishes the study. The study as it ends."""
    victim = start_worker(command, storage, folder / "victim.log")
    assert wait_for(lambda: running(pg_url) == 1, timeout=90), "the first worker never started a trial"
    survivor = start_worker(command, storage, folder / "survivor.log")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert survivor.wait(timeout=240) == 0, (folder / "survivor.log").read_text()[-3000:]
    return load(pg_url)


def ride_out_an_outage(command: list[str], storage: str, pg_url: str, folder: Path,
                       seconds: float) -> tuple[optuna.Study, set[int], list[str]]:
    """Two workers, both mid-trial when the database goes away for `seconds`: (the study as it ends, the trials
    running when the outage began, the workers' logs)."""
    workers = [start_worker(command, storage, folder / f"w{i}.log") for i in range(2)]
    # Both workers past start-up: one that cannot reach its database at start stops with an error.
    assert wait_for(lambda: running(pg_url) >= 2, timeout=120), "the two workers never ran trials at once"
    cut_off = {t.number for t in load(pg_url).get_trials(deepcopy=False) if t.state.name == "RUNNING"}
    with database_outage(pg_url, seconds):
        pass
    for i, worker in enumerate(workers):
        assert worker.wait(timeout=300) == 0, (folder / f"w{i}.log").read_text()[-3000:]
    return load(pg_url), cut_off, [(folder / f"w{i}.log").read_text() for i in range(2)]


def complete_numbers(study: optuna.Study) -> set[int]:
    return {t.number for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"}


def load(url: str, name: str = "dist") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def states(study: optuna.Study) -> Counter:
    """Trials by state, a failed trial that never ran (a claim that lost the last slot) as NOT RUN, as `status`
    counts them."""
    return Counter("NOT RUN" if NOT_RUN_KEY in t.system_attrs else t.state.name
                   for t in study.get_trials(deepcopy=False))


def sampled(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials whose parameters the sampler chose and that ran (a baseline's tuning trials: all but their design):
    not the enqueued default baselines, not retries of a dead trial, not claims that lost the last slot."""
    return [t for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get("role") != "baseline" and "failed_trial" not in t.system_attrs
            and NOT_RUN_KEY not in t.system_attrs]  # a claim that lost the last slot never ran


def param_sets(trials) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in trials]


def wait_for(condition, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def running(url: str, name: str = "dist") -> int:
    try:
        return states(load(url, name))[TrialState.RUNNING.name]
    except KeyError:  # the study is not created yet
        return 0
