"""Where studies live: resolve the storage URL (flag, env, default) and mask credentials in messages."""

from __future__ import annotations

import os
import re

from search._errors import UserError

ENV_STORAGE = "FUSION_SEARCH_STORAGE"
DEFAULT_STORAGE = "sqlite:///fusion-search.db"  # a file in the working directory
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "mysql", "mysql+pymysql")

_PASSWORD = re.compile(r"(?P<head>[a-z0-9+]+://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)", re.IGNORECASE)


def resolve_storage_url(flag_value: str | None = None) -> str:
    """--storage, else $FUSION_SEARCH_STORAGE, else a SQLite file in the working directory."""
    url = flag_value or os.environ.get(ENV_STORAGE) or DEFAULT_STORAGE
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise UserError(f"storage URL {mask_url(url)!r} has an unknown scheme '{scheme}'; use one of: {', '.join(SCHEMES)}")
    return url


def mask_url(text: str) -> str:
    """The text with any password inside a database URL replaced by ***."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)
