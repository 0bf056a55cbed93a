"""Riding out a database restart: which errors mean "the server is away", and waiting for it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy.exc

from fusion_search.storage._url import mask_url

T = TypeVar("T")
PATIENCE_SECONDS = 600.0  # how long a worker waits for its database before giving up


def is_transient(error: BaseException | None) -> bool:
    """True for a lost or refused connection, also when Optuna wrapped it (StorageInternalError)."""
    while error is not None:
        if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


def retry_storage(call: Callable[[], T], url: str, patience: float = PATIENCE_SECONDS,
                  first_delay: float = 0.5) -> T:
    """call(), retried with backoff while the database is unreachable, for up to `patience` seconds."""
    deadline, delay, told = time.monotonic() + patience, first_delay, False
    while True:
        try:
            result = call()
        except Exception as error:
            if not is_transient(error) or time.monotonic() > deadline:
                raise
            if not told:
                reason = mask_url(str(error).strip().splitlines()[0] if str(error).strip() else "", url)
                print(f"storage {mask_url(url)} unreachable ({reason[:160]}); waiting up to {patience:.0f} s",
                      file=sys.stderr, flush=True)
                told = True
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        if told:
            print(f"storage {mask_url(url)} reachable again", file=sys.stderr, flush=True)
        return result
