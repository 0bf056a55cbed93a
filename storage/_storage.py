"""The one place that opens an Optuna storage: a database (engine options live here and nowhere else) or
Optuna's gRPC storage proxy in front of one (grpc://host:port)."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import sqlalchemy
import sqlalchemy.exc

from fusion_search._errors import UserError
from fusion_search.storage._url import is_proxy_url, mask_url, proxy_address, resolve_storage_url

SCHEMA_ATTEMPTS = 5
PROXY_WAIT_SECONDS = 30.0  # how long a worker waits for the proxy to answer at start
# A worker uses at most 2 connections: its main thread and its heartbeat thread each hold one while they talk to
# the database, never more (no overflow; a third caller would wait for one of the two).
WORKER_CONNECTIONS = 2
# libpq: give up connecting after 10 s; probe an idle connection after 30 s, every 10 s, 3 times
POSTGRES_TIMEOUTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                     "keepalives_count": 3}


def engine_options(url: str, connections: int = WORKER_CONNECTIONS) -> dict:
    """SQLite: a long busy timeout so local workers wait for each other's writes instead of failing.
    Servers: a pool of exactly `connections`. No pre-ping (a round trip before every storage call): a connection a
    restart killed fails once, SQLAlchemy then drops the whole pool, and the call is retried (retry_storage)."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    options = {"pool_pre_ping": False, "pool_size": connections, "max_overflow": 0, "pool_recycle": 300}
    if url.startswith("postgresql"):  # a server or network that went silent is noticed in about a minute
        options["connect_args"] = POSTGRES_TIMEOUTS
    return options


def open_storage(url: str | None = None, connections: int = WORKER_CONNECTIONS) -> optuna.storages.BaseStorage:
    """The Optuna storage for a URL (resolved as resolve_storage_url does); UserError if unreachable.
    Heartbeats are not Optuna's (its RDB-only table): the worker loop keeps them as trial attributes, so they work
    the same through the gRPC proxy."""
    url = resolve_storage_url(url)
    if is_proxy_url(url):
        return _open_proxy(url)
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_options(url, connections))
        except Exception as error:  # sqlalchemy raises many types for a bad server, path or password
            # Workers starting together on an empty database race to create its tables; the
            # losers find them made a moment later.
            racing = isinstance(error, (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError))
            if not racing or attempt == SCHEMA_ATTEMPTS - 1:
                raise UserError(f"cannot open storage {mask_url(url)}: {error_line(error, url)}") from None
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def require_reachable(url: str | None = None) -> None:
    """UserError, the one line open_storage would give, when the storage cannot be reached: one connection lists
    the database's tables (a SQLite file that is no database fails only when read) and closes again, so that a run
    fails before it decodes and caches its images rather than after. A SQLite file that does not exist yet is not
    created to find out (a run refused by a later check leaves none)."""
    url = resolve_storage_url(url)
    if is_proxy_url(url):
        _open_proxy(url).close()
        return
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        return
    try:
        engine = sqlalchemy.create_engine(url, **engine_options(url, connections=1))
        try:
            with engine.connect() as connection:
                sqlalchemy.inspect(connection).get_table_names()
        finally:
            engine.dispose()
    except Exception as error:  # sqlalchemy and the drivers raise many types for a bad server, path or password
        raise UserError(f"cannot open storage {mask_url(url)}: {error_line(error, url)}") from None


def _sqlite_file_exists(url: str) -> bool:
    database = sqlalchemy.engine.make_url(url).database
    return bool(database) and database != ":memory:" and Path(database).is_file()


def _open_proxy(url: str) -> optuna.storages.BaseStorage:
    host, port = proxy_address(url)
    proxy = optuna.storages.GrpcStorageProxy(host=host, port=port)
    try:
        proxy.wait_server_ready(timeout=PROXY_WAIT_SECONDS)
    except Exception:  # grpc raises its own FutureTimeoutError
        raise UserError(f"cannot open storage {url}: no storage proxy answered within {PROXY_WAIT_SECONDS:.0f} s "
                        "(start one with `fusion-search storage-proxy`)") from None
    return proxy


def rdb_backend(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage | None:
    """The database storage under Optuna's per-process cache; None for the gRPC proxy's client."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, optuna.storages.RDBStorage) else None


def storage_url(storage: optuna.storages.BaseStorage) -> str:
    """The URL a storage was opened from (for messages and retries; masked wherever it is shown)."""
    if (backend := rdb_backend(storage)) is not None:
        return backend.url
    host, port = getattr(storage, "_host", "?"), getattr(storage, "_port", "?")
    return f"grpc://{host}:{port}"


def release_connections(storage: optuna.storages.BaseStorage) -> None:
    """Give this thread's database connection back to the pool (a no-op through the proxy)."""
    if (backend := rdb_backend(storage)) is not None:
        backend.remove_session()


def error_line(error: BaseException, url: str) -> str:
    """The first line of a driver's error, passwords masked (drivers may quote the URL back)."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return mask_url(line, url)
