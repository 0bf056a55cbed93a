"""Where exported models live for the dashboard: an Optuna FileSystemArtifactStore beside the study.

A SQLite study is one machine's, so its artifacts default to a folder under the cache directory. A study on
PostgreSQL (or behind the storage proxy) is shared by machines, and a folder on one of them would serve only
that one: it needs a path the user gives (--artifact-dir or $FUSION_SEARCH_ARTIFACTS), e.g. on shared storage.
"""

from __future__ import annotations

import os
from pathlib import Path

from optuna.artifacts import FileSystemArtifactStore

from fusion_search._errors import UserError
from fusion_search.storage._cache import cache_dir

ENV_ARTIFACTS = "FUSION_SEARCH_ARTIFACTS"
ARTIFACT_FOLDER = "artifacts"  # under the cache directory, for SQLite studies


def artifact_dir(storage_url: str, flag_value: str | Path | None = None) -> Path | None:
    """--artifact-dir, else $FUSION_SEARCH_ARTIFACTS, else (SQLite only) <cache>/artifacts; None: no store."""
    given = flag_value or os.environ.get(ENV_ARTIFACTS)
    if given:
        return Path(given)
    return cache_dir() / ARTIFACT_FOLDER if storage_url.startswith("sqlite") else None


def artifact_store(storage_url: str, flag_value: str | Path | None = None) -> FileSystemArtifactStore | None:
    """The study's artifact store (its folder made if missing), or None where no folder was given for a shared
    database."""
    folder = artifact_dir(storage_url, flag_value)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot use artifact folder {folder}: {error.strerror or error}") from None
    return FileSystemArtifactStore(str(folder))
