"""`fusion-search storage-proxy`: Optuna's gRPC storage proxy in front of one database, so that hundreds of
workers share a handful of database connections (the workers open grpc://host:port instead of the database)."""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import optuna

from fusion_search._errors import UserError
from fusion_search.storage._retry import is_transient
from fusion_search.storage._storage import open_storage
from fusion_search.storage._url import is_proxy_url, mask_url, resolve_storage_url

PROXY_CONNECTIONS = 8  # database connections of the whole proxy, whatever the number of workers behind it
PROXY_THREADS = 16  # requests served at once; the ones past PROXY_CONNECTIONS wait a moment for a connection


def serve_storage_proxy(url: str | None, host: str, port: int, ready: threading.Event | None = None,
                        stop: threading.Event | None = None) -> None:
    """Serve the storage at `url` on host:port until SIGTERM / Ctrl-C (or `stop`, for callers in a thread)."""
    url = resolve_storage_url(url)
    if is_proxy_url(url) or url.startswith("sqlite"):
        raise UserError(f"storage-proxy serves a database server (PostgreSQL or MySQL), not {mask_url(url)}: an SQLite "
                        "study lives on one machine, where workers open it directly")
    storage = _NamedOutages(optuna.storages.get_storage(open_storage(url, connections=PROXY_CONNECTIONS)), url)
    # Optuna's own server factory: its public run_grpc_proxy_server blocks for good, with no way to stop it cleanly
    from optuna.storages._grpc.server import make_server

    try:
        server = make_server(storage, host, port, ThreadPoolExecutor(max_workers=PROXY_THREADS))
        server.start()
    except RuntimeError as error:  # grpc: the port is taken or the address is wrong
        raise UserError(f"storage-proxy cannot listen on {host}:{port}: {error}") from None
    print(f"storage proxy for {mask_url(url)} listening on {host}:{port} "
          f"({PROXY_CONNECTIONS} database connections at most)", file=sys.stderr, flush=True)
    stop = stop or threading.Event()
    previous = _stop_on_sigterm(stop)
    if ready is not None:
        ready.set()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop(grace=5).wait()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _NamedOutages:
    """The proxy's storage (Optuna's cache over the database). Optuna reports a lost database connection as
    StorageInternalError ("An exception is raised during the commit"), which gRPC hands on as UNKNOWN with that text:
    workers could not tell it from a bug. Re-raised with the driver error's name, workers wait it out."""

    def __init__(self, storage: optuna.storages.BaseStorage, url: str):
        self._storage, self._url = storage, url

    def __getattr__(self, name: str):
        attribute = getattr(self._storage, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            try:
                return attribute(*args, **kwargs)
            except Exception as error:
                if is_transient(error):
                    raise StorageUnavailable("OperationalError: the database is unavailable: "
                                             f"{mask_url(_cause(error), self._url)}") from error
                raise

        return call


class StorageUnavailable(ConnectionError):
    """The database behind the proxy did not answer (its name is in the gRPC details workers read)."""


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _stop_on_sigterm(stop: threading.Event):
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
