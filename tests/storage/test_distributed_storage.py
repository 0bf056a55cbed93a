"""Storage rules for many workers: passwords never shown, the study lock excludes, outages are waited out."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
import sqlalchemy

from fusion_search import UserError
from fusion_search.storage import is_transient, mask_url, open_storage, refuse_password_flag, retry_storage, study_lock


def test_mask_url_hides_the_password_and_any_echo_of_it():
    url = "postgresql+psycopg://fs:hunter2@db:5432/fs"
    assert mask_url(f"cannot reach {url}", url) == "cannot reach postgresql+psycopg://fs:***@db:5432/fs"
    assert mask_url("driver said password=hunter2", url) == "driver said password=***"


def test_a_password_in_the_storage_flag_is_refused_and_not_repeated():
    with pytest.raises(UserError) as error:
        refuse_password_flag("postgresql+psycopg://fs:hunter2@db/fs")
    assert "hunter2" not in str(error.value) and "FUSION_SEARCH_STORAGE" in str(error.value)
    refuse_password_flag("postgresql+psycopg://fs@db/fs")  # no password: fine


def test_opened_storage_has_heartbeats_and_retries_stale_trials(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat=5)
    assert storage.get_heartbeat_interval() == 5 and storage.grace_period == 15
    assert isinstance(storage.get_heartbeat_stale_trial_callback(), optuna.storages.RetryHeartbeatStaleTrialCallback)


def test_the_study_lock_lets_one_holder_in_at_a_time(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 's.db'}")
    inside, overlaps = [], []

    def hold():
        with study_lock(engine, "s"):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1, 1]


def test_retry_storage_waits_out_lost_connections_but_not_other_errors():
    lost = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise optuna.exceptions.StorageInternalError("commit failed") from lost
        return "ok"

    assert is_transient(optuna.exceptions.StorageInternalError("x").with_traceback(None)) is False
    assert retry_storage(flaky, "sqlite://", first_delay=0.01) == "ok" and len(calls) == 3
    with pytest.raises(ValueError):
        retry_storage(lambda: (_ for _ in ()).throw(ValueError("bad")), "sqlite://", first_delay=0.01)
