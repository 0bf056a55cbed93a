"""Array caches shared by every trial and every local worker: decoded images, frozen-backbone features.

Each entry is one .npy file opened memory-mapped. Building is serialised by an flock on the entry's
lock file and published with an atomic rename, so several processes asking at once build it once
and nobody ever reads half a file.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np

ENV_CACHE = "FUSION_SEARCH_CACHE"
DEFAULT_CACHE = "fusion-search-cache"  # beside the default SQLite study file


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE) or DEFAULT_CACHE)


def cached_array(key: str, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored under key, built by build() the first time (in whichever process gets there first)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(key)}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    with open(folder / f"{_safe(key)}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
            np.save(partial, np.ascontiguousarray(build()))
            os.replace(partial, path)
    return np.load(path, mmap_mode="r")


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", key)
