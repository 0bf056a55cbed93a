"""Storage rules for many workers: passwords never shown, outages are waited out, the proxy URL is understood."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy

from fusion_search import UserError
from fusion_search.storage import (
    engine_options,
    is_transient,
    mask_url,
    open_storage,
    refuse_password_flag,
    require_reachable,
    resolve_storage_url,
    retry_storage,
)


def test_mask_url_hides_the_password_and_any_echo_of_it():
    url = "postgresql+psycopg://fs:hunter2@db:5432/fs"
    assert mask_url(f"cannot reach {url}", url) == "cannot reach postgresql+psycopg://fs:***@db:5432/fs"
    assert mask_url("driver said password=hunter2", url) == "driver said password=***"


def test_a_password_in_the_storage_flag_is_refused_and_not_repeated():
    with pytest.raises(UserError) as error:
        refuse_password_flag("postgresql+psycopg://fs:hunter2@db/fs")
    assert "hunter2" not in str(error.value) and "FUSION_SEARCH_STORAGE" in str(error.value)
    refuse_password_flag("postgresql+psycopg://fs@db/fs")  # no password: fine


@pytest.mark.parametrize("url, advice", [
    ("postgresql+psycopg://fs:hunter2@db/fs", "(or the password in PGPASSWORD / ~/.pgpass)"),
    ("mysql://fs:hunter2@db/fs", "(or the password under [client] in ~/.my.cnf, with ?read_default_file=~/.my.cnf"),
    ("mysql+pymysql://fs:hunter2@db/fs", "[client] in ~/.my.cnf"),
])
def test_a_refused_password_is_told_where_its_own_database_client_reads_one(url, advice):
    with pytest.raises(UserError) as error:
        refuse_password_flag(url)
    assert advice in str(error.value)
    assert ("PGPASSWORD" in str(error.value)) == url.startswith("postgresql")  # (not a MySQL user's advice)


def test_a_worker_database_pool_never_holds_more_than_two_connections():
    options = engine_options("postgresql+psycopg://fs@db/fs")
    assert options["pool_size"] + options["max_overflow"] == 2  # the main thread and the heartbeat thread


def test_proxy_urls_are_accepted_and_a_malformed_one_is_one_line():
    assert resolve_storage_url("grpc://proxy.example:13000") == "grpc://proxy.example:13000"
    with pytest.raises(UserError, match="grpc://HOST:PORT"):
        resolve_storage_url("grpc://proxy.example")


def test_a_proxy_that_does_not_answer_is_a_user_error(monkeypatch):
    monkeypatch.setattr("fusion_search.storage._storage.PROXY_WAIT_SECONDS", 0.5)
    with pytest.raises(UserError, match="no storage proxy answered"):
        open_storage("grpc://127.0.0.1:1")


def test_the_check_before_a_run_names_an_unreachable_database_in_one_line_without_its_password():
    with pytest.raises(UserError) as error:
        require_reachable("postgresql+psycopg://fs:hunter2@127.0.0.1:1/fs")
    message = str(error.value)
    assert message.startswith("cannot open storage postgresql+psycopg://fs:***@127.0.0.1:1/fs: ")
    assert "hunter2" not in message and len(message.splitlines()) == 1


def test_the_check_before_a_run_waits_for_the_proxy_as_opening_it_does(monkeypatch):
    monkeypatch.setattr("fusion_search.storage._storage.PROXY_WAIT_SECONDS", 0.5)
    with pytest.raises(UserError, match="no storage proxy answered"):
        require_reachable("grpc://127.0.0.1:1")


def test_the_check_before_a_run_creates_no_sqlite_file_and_reads_one_that_exists(tmp_path):
    new = tmp_path / "new.db"
    require_reachable(f"sqlite:///{new}")
    assert not new.exists()  # a run refused by a later check leaves no empty study file behind
    open_storage(f"sqlite:///{new}")
    require_reachable(f"sqlite:///{new}")
    (tmp_path / "junk.db").write_text("not a database")
    with pytest.raises(UserError, match="cannot open storage sqlite:///"):
        require_reachable(f"sqlite:///{tmp_path / 'junk.db'}")


def test_grpc_errors_are_transient_when_the_proxy_or_its_database_is_away():
    import grpc

    class Failed(grpc.RpcError):
        def __init__(self, code, details=""):
            self._code, self._details = code, details

        def code(self):
            return self._code

        def details(self):
            return self._details

    Failed.__module__ = "grpc._channel"
    assert is_transient(Failed(grpc.StatusCode.UNAVAILABLE))
    assert is_transient(Failed(grpc.StatusCode.UNKNOWN, "Exception calling application: (psycopg.OperationalError)"))
    assert not is_transient(Failed(grpc.StatusCode.NOT_FOUND))
    assert not is_transient(Failed(grpc.StatusCode.UNKNOWN, "ValueError: bad value"))


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


def test_the_proxy_names_a_lost_database_so_that_workers_wait_for_it():
    from fusion_search.storage._proxy import _NamedOutages

    lost = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    class Backend:
        def get_all_trials(self, study_id):
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from lost

        def get_trial(self, trial_id):
            raise KeyError(trial_id)  # not an outage: passed on as it is

    storage = _NamedOutages(Backend(), "postgresql+psycopg://fs:hunter2@db/fs")
    with pytest.raises(ConnectionError) as outage:
        storage.get_all_trials(0)
    assert "OperationalError" in str(outage.value) and "server closed the connection" in str(outage.value)
    with pytest.raises(KeyError):
        storage.get_trial(3)
