"""The one place that opens an Optuna storage (engine options and heartbeats live here and nowhere else)."""

from __future__ import annotations

import time

import optuna
import sqlalchemy.exc

from fusion_search._errors import UserError
from fusion_search.storage._url import mask_url, resolve_storage_url

HEARTBEAT_SECONDS = 30  # a worker's RUNNING trial proves it is alive this often
STALE_AFTER_BEATS = 3  # missed beats before another worker fails the trial and re-queues it
MAX_RETRIES = 3  # a trial whose worker keeps dying is re-run at most this often
SCHEMA_ATTEMPTS = 5


def engine_options(url: str) -> dict:
    """SQLite: a long busy timeout so local workers wait for each other's writes instead of failing.
    Servers: pre-ping drops connections a restart killed; a small pool, one process = one worker."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2, "pool_recycle": 300}


def open_storage(url: str | None = None, heartbeat: int = HEARTBEAT_SECONDS) -> optuna.storages.RDBStorage:
    """The Optuna storage for a URL (resolved as resolve_storage_url does); UserError if unreachable.

    Heartbeats: a trial whose worker stopped beating for STALE_AFTER_BEATS * heartbeat seconds is
    failed by the next worker that asks for a trial, and re-queued with the same parameters."""
    url = resolve_storage_url(url)
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_options(url), heartbeat_interval=heartbeat,
                grace_period=STALE_AFTER_BEATS * heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
            )
        except Exception as error:  # sqlalchemy raises many types for a bad server, path or password
            # Workers starting together on an empty database race to create its tables; the
            # losers find them made a moment later.
            racing = isinstance(error, (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError))
            if not racing or attempt == SCHEMA_ATTEMPTS - 1:
                raise UserError(f"cannot open storage {mask_url(url)}: {error_line(error, url)}") from None
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def error_line(error: BaseException, url: str) -> str:
    """The first line of a driver's error, passwords masked (drivers may quote the URL back)."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return mask_url(line, url)
