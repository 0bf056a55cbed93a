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
# gRPC status codes that mean "the proxy (or the database behind it) is away", not "the request is wrong"
TRANSIENT_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"}
# the proxy hands a database error on as UNKNOWN with the exception's text: these names mean a lost connection
TRANSIENT_NAMES = ("OperationalError", "InterfaceError", "connection", "Connection")

_last_unreachable = time.monotonic()  # a process that just started has not heard the others yet either


def reachable_for() -> float:
    """Seconds since this process last failed to reach its storage (or started): judging others' heartbeats is
    fair only after as long as their grace, because they could not beat through the same outage."""
    return time.monotonic() - _last_unreachable


def mark_unreachable() -> None:
    global _last_unreachable
    _last_unreachable = time.monotonic()


def is_transient(error: BaseException | None) -> bool:
    """True for a lost or refused connection, also when Optuna wrapped it (StorageInternalError)."""
    while error is not None:
        if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        if _is_transient_grpc(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_transient_grpc(error: BaseException) -> bool:
    """A gRPC error (the proxy's client) whose code says the server, or the database behind it, is away."""
    if not type(error).__module__.startswith("grpc") or not callable(getattr(error, "code", None)):
        return False
    code = getattr(error.code(), "name", "")
    details = error.details() if callable(getattr(error, "details", None)) else ""
    return code in TRANSIENT_GRPC or (code == "UNKNOWN" and any(name in (details or "") for name in TRANSIENT_NAMES))


def hint(error: BaseException) -> str:
    """What to do about a transient error that is really a configuration limit."""
    if "too many clients" in str(error).lower():
        return " (the server's max_connections is reached: raise it, or put `fusion-search storage-proxy` in front)"
    return ""


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
            mark_unreachable()
            if not told:
                reason = mask_url(str(error).strip().splitlines()[0] if str(error).strip() else "", url)
                print(f"storage {mask_url(url)} unreachable ({reason[:160]}){hint(error)}; waiting up to "
                      f"{patience:.0f} s", file=sys.stderr, flush=True)
                told = True
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        if told:
            print(f"storage {mask_url(url)} reachable again", file=sys.stderr, flush=True)
        return result
