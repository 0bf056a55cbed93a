"""Storage: where studies (Optuna RDB), caches and artifacts live, and how to reach them safely."""

from storage._storage import engine_options, open_storage
from storage._url import DEFAULT_STORAGE, ENV_STORAGE, mask_url, resolve_storage_url

__all__ = ["DEFAULT_STORAGE", "ENV_STORAGE", "engine_options", "mask_url", "open_storage", "resolve_storage_url"]
