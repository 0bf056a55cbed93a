"""An exported model uploaded as an Optuna artifact of its study, so the dashboard offers it for download.

Only what a user exports is uploaded (never every trial's model). A .keras file goes as it is; an export folder
(.fusion, .ensemble) goes as one .zip of it. `fusion-search dashboard` serves the same artifact store.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import optuna
from optuna.artifacts import upload_artifact

from fusion_search.storage import artifact_store, storage_url


def upload_model(study: optuna.Study, path: str | Path, artifact_dir: str | Path | None = None) -> dict | None:
    """Upload the exported file or folder at path to the study's artifacts; returns where the dashboard serves it,
    or None when the study has no artifact store (a shared database without --artifact-dir)."""
    store = artifact_store(storage_url(study._storage), artifact_dir)
    if store is None:
        return None
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="fusion-search-artifact-") as scratch:
        upload = path if path.is_file() else Path(shutil.make_archive(str(Path(scratch) / path.name), "zip", path))
        artifact_id = upload_artifact(artifact_store=store, file_path=str(upload), study_or_trial=study)
    return {"artifact_id": artifact_id, "filename": upload.name,
            "dashboard_path": f"/artifacts/{study._study_id}/{artifact_id}"}
