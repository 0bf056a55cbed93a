"""A study-wide lock, so that "count the trials, then start one" is one step across all workers."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def study_lock(engine: sqlalchemy.engine.Engine, study_name: str) -> Iterator[None]:
    """Held by one process at a time per study and database. The server drops it with the holder's
    connection, so a killed worker never leaves it held (PostgreSQL, MySQL); SQLite: a lock file."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with _server_lock(engine, "SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)",
                          _bigint_key(study_name)):
            yield
    elif dialect == "mysql":
        with _server_lock(engine, "SELECT GET_LOCK(:key, -1)", "SELECT RELEASE_LOCK(:key)",
                          f"fusion-search:{study_name}"[:64]):
            yield
    else:
        with _file_lock(engine.url):
            yield


def _bigint_key(study_name: str) -> int:
    digest = hashlib.blake2b(f"fusion-search:{study_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def _server_lock(engine: sqlalchemy.engine.Engine, take: str, give: str, key) -> Iterator[None]:
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(take), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            try:
                connection.execute(sqlalchemy.text(give), {"key": key})
                connection.commit()
            except sqlalchemy.exc.DBAPIError:
                connection.invalidate()  # the server is gone, and the lock with it


@contextlib.contextmanager
def _file_lock(url: sqlalchemy.engine.URL) -> Iterator[None]:
    database = make_url(str(url)).database
    if not database or database == ":memory:":
        yield  # one process owns an in-memory database
        return
    with open(Path(database).with_name(Path(database).name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
