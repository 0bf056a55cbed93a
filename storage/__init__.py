"""Storage: where studies (Optuna RDB, or the gRPC proxy in front of one), caches and artifacts live, and how to
reach them safely."""

from fusion_search.storage._artifacts import ENV_ARTIFACTS, artifact_dir, artifact_store
from fusion_search.storage._cache import cache_dir, cached_array, cached_rows, chunk_rows, filled_rows, read_rows
from fusion_search.storage._files import write_text_atomically
from fusion_search.storage._liveness import (
    HEARTBEAT_KEY,
    HEARTBEAT_SECONDS,
    MAX_RETRIES,
    RECONNECT_SECONDS,
    StaleWatch,
    grace_seconds,
    record_heartbeat,
)
from fusion_search.storage._lock import sqlite_claim_lock
from fusion_search.storage._proxy import PROXY_CONNECTIONS, serve_storage_proxy
from fusion_search.storage._retry import is_transient, mark_unreachable, reachable_for, retry_storage
from fusion_search.storage._storage import (
    WORKER_CONNECTIONS,
    engine_options,
    error_line,
    open_storage,
    release_connections,
    require_reachable,
    storage_url,
)
from fusion_search.storage._url import (
    DEFAULT_STORAGE,
    ENV_STORAGE,
    is_proxy_url,
    mask_url,
    refuse_password_flag,
    resolve_storage_url,
)

__all__ = [
    "ENV_ARTIFACTS", "artifact_dir", "artifact_store",
    "cache_dir", "cached_array", "cached_rows", "chunk_rows", "filled_rows", "read_rows", "write_text_atomically",
    "HEARTBEAT_KEY", "HEARTBEAT_SECONDS", "MAX_RETRIES", "RECONNECT_SECONDS", "grace_seconds", "record_heartbeat",
    "StaleWatch", "sqlite_claim_lock", "PROXY_CONNECTIONS", "serve_storage_proxy",
    "is_transient", "mark_unreachable", "reachable_for", "retry_storage",
    "WORKER_CONNECTIONS", "engine_options", "error_line", "open_storage", "release_connections", "require_reachable",
    "storage_url",
    "DEFAULT_STORAGE", "ENV_STORAGE", "is_proxy_url", "mask_url", "refuse_password_flag", "resolve_storage_url",
]
