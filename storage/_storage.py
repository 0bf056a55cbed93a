"""The one place that opens an Optuna storage (engine options live here and nowhere else)."""

from __future__ import annotations

import optuna

from search._errors import UserError
from storage._url import mask_url, resolve_storage_url


def engine_options(url: str) -> dict:
    """SQLite: a long busy timeout so local workers wait for each other's writes instead of failing.
    Servers: pre-ping drops connections a restart killed; a small pool, one process = one worker."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2, "pool_recycle": 300}


def open_storage(url: str | None = None) -> optuna.storages.RDBStorage:
    """The Optuna storage for a URL (resolved as resolve_storage_url does); UserError if unreachable."""
    url = resolve_storage_url(url)
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_options(url))
    except Exception as error:  # sqlalchemy raises many types for a bad server, path or password
        reason = mask_url(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        raise UserError(f"cannot open storage {mask_url(url)}: {reason}") from None
