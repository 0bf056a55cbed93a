"""Where studies live: resolve the storage URL (flag, env, default) and mask credentials in messages."""

from __future__ import annotations

import os
import re

from fusion_search._errors import UserError

ENV_STORAGE = "FUSION_SEARCH_STORAGE"
DEFAULT_STORAGE = "sqlite:///fusion-search.db"  # a file in the working directory
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "mysql", "mysql+pymysql", "grpc")
PROXY_SCHEME = "grpc"  # grpc://host:port: Optuna's gRPC storage proxy (`fusion-search storage-proxy`) in front of a database

_PASSWORD = re.compile(r"(?P<head>[a-z0-9+]+://[^:/@\s]*:)(?P<secret>[^@\s]*)(?P<tail>@)", re.IGNORECASE)


def resolve_storage_url(flag_value: str | None = None) -> str:
    """--storage, else $FUSION_SEARCH_STORAGE, else a SQLite file in the working directory."""
    url = flag_value or os.environ.get(ENV_STORAGE) or DEFAULT_STORAGE
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise UserError(f"storage URL {mask_url(url)!r} has an unknown scheme '{scheme}'; use one of: {', '.join(SCHEMES)}")
    if scheme == PROXY_SCHEME:
        proxy_address(url)  # host and port, or a one-line error now
    return url


def is_proxy_url(url: str) -> bool:
    return url.split("://", 1)[0] == PROXY_SCHEME


def proxy_address(url: str) -> tuple[str, int]:
    """(host, port) of grpc://host:port."""
    host, _, port = url.split("://", 1)[1].rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"storage URL {url!r} must be grpc://HOST:PORT (the address of `fusion-search storage-proxy`)")
    return host, int(port)


# Where each database's own client reads a password from, when the URL has none.
_PASSWORD_PLACES = {
    "postgresql": "or the password in PGPASSWORD / ~/.pgpass",
    "mysql": "or the password under [client] in ~/.my.cnf, with ?read_default_file=~/.my.cnf on the URL",
}


def refuse_password_flag(flag_value: str | None) -> None:
    """A password on the command line ends up in shell history and `ps`: refuse it, saying where it can go for
    the URL's database."""
    if flag_value and _PASSWORD.search(flag_value):
        dialect = flag_value.split("://", 1)[0].split("+", 1)[0]
        elsewhere = f" ({_PASSWORD_PLACES[dialect]})" if dialect in _PASSWORD_PLACES else ""
        raise UserError(f"--storage {mask_url(flag_value)} contains a password; put the URL in ${ENV_STORAGE}"
                        f"{elsewhere} instead of on the command line")


def url_password(url: str) -> str | None:
    match = _PASSWORD.search(url)
    return match["secret"] if match and match["secret"] else None


def mask_url(text: str, url: str | None = None) -> str:
    """The text with any password inside a database URL replaced by *** (and, given the URL,
    its password wherever else it appears, e.g. quoted back by a driver)."""
    masked = _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)
    secret = url_password(url) if url else None
    return masked.replace(secret, "***") if secret else masked
