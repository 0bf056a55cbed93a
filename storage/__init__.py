"""Storage: where studies (Optuna RDB), caches and artifacts live, and how to reach them safely."""

from fusion_search.storage._cache import cache_dir, cached_array
from fusion_search.storage._files import write_text_atomically
from fusion_search.storage._lock import study_lock
from fusion_search.storage._retry import is_transient, retry_storage
from fusion_search.storage._storage import HEARTBEAT_SECONDS, engine_options, error_line, open_storage
from fusion_search.storage._url import DEFAULT_STORAGE, ENV_STORAGE, mask_url, refuse_password_flag, resolve_storage_url

__all__ = [
    "cache_dir", "cached_array", "write_text_atomically",
    "DEFAULT_STORAGE", "ENV_STORAGE", "HEARTBEAT_SECONDS", "engine_options", "error_line", "is_transient",
    "mask_url", "open_storage", "refuse_password_flag", "resolve_storage_url", "retry_storage", "study_lock",
]
