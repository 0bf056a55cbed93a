"""One local lock for an SQLite study file: there, and only there, Optuna's "one caller wins" steps are not atomic.

PostgreSQL and MySQL make moving a trial from WAITING to RUNNING, or from RUNNING to FAIL, atomic (Optuna reads the
row FOR UPDATE). SQLite through Python's driver reads outside a transaction, so two processes can both see WAITING
and both take the trial. SQLite studies live on one machine, so an flock on a file beside the database serialises
the claim there; a server database (directly or through the gRPC proxy) needs no lock."""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url

from fusion_search.storage._storage import rdb_backend


_held = threading.local()  # lock files this thread holds: taking one again inside is a no-op


@contextlib.contextmanager
def sqlite_claim_lock(storage: optuna.storages.BaseStorage) -> Iterator[None]:
    """Held by one thread of one process at a time per SQLite database file (re-entrant within a thread);
    a no-op for any other storage."""
    database = _sqlite_file(storage)
    held = _held.__dict__.setdefault("paths", set())
    if database is None or database in held:
        yield
        return
    with open(database.with_name(database.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(database)
        try:
            yield
        finally:
            held.discard(database)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_file(storage: optuna.storages.BaseStorage) -> Path | None:
    backend = rdb_backend(storage)
    if backend is None or not backend.url.startswith("sqlite"):
        return None
    database = make_url(backend.url).database
    return Path(database).resolve() if database and database != ":memory:" else None
