"""`fusion-search dashboard`: optuna-dashboard on the studies' storage, loopback unless told otherwise."""

from __future__ import annotations

import errno
import sys

import optuna

from fusion_search._errors import UserError
from fusion_search.storage import artifact_store, mask_url, open_storage
from fusion_search.storage import storage_url as url_of
from fusion_search.study import CONFIRMATION_SUFFIX

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_dashboard(storage_url: str | None, host: str = "127.0.0.1", port: int = 8080,
                    artifact_dir: str | None = None, study: str | None = None) -> None:
    """Serve optuna-dashboard until interrupted (its own wsgiref server; fine for one person's browser), with the
    studies' artifact store (exported models) where there is one. The address printed opens on the verdict: the
    Note tab of ``study`` (default: the most recently created study that is not a confirmation study)."""
    from optuna_dashboard import run_server

    storage = open_storage(storage_url)
    artifacts = artifact_store(url_of(storage), artifact_dir)
    if not 0 < port < 65536:
        raise UserError(f"--port must be 1..65535, got {port}")
    base = f"http://{_url_host(host)}:{port}/dashboard"
    page = verdict_page(storage, study)
    if host not in LOOPBACK:
        print(f"fusion-search: warning: the dashboard listens on {host}; anyone who reaches it can "
              "rename and delete studies (it has no login)", file=sys.stderr)
    print(f"optuna-dashboard for {mask_url(url_of(storage))} at {base} (Ctrl+C stops it)", file=sys.stderr)
    if page is not None:
        print(f"the verdict of study '{page[0]}': {base}{page[1]}", file=sys.stderr, flush=True)
    if artifacts is None:
        print("fusion-search: note: no --artifact-dir for this shared database, so exported models are not served "
              "(give the folder `export --artifact-dir` used)", file=sys.stderr)
    try:
        run_server(storage, host=host, port=port, artifact_store=artifacts)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is already in use; pick another with --port") from None
        raise UserError(f"cannot serve the dashboard on {host}:{port}: {error.strerror or error}") from None


def verdict_page(storage: optuna.storages.BaseStorage, study: str | None) -> tuple[str, str] | None:
    """(study name, its Note tab's path under /dashboard, where the verdict is): the named study, or the most
    recently created one that is not a ``<study>:confirm`` confirmation study; None when the storage has none."""
    studies = {s.study_name: s._study_id for s in storage.get_all_studies()}
    if study is not None and study not in studies:
        known = ", ".join(sorted(studies)) or "none"
        raise UserError(f"no study named '{study}' in {mask_url(url_of(storage))}; studies there: {known}")
    searches = [name for name in studies if not name.endswith(CONFIRMATION_SUFFIX)]
    name = study or max(searches, key=studies.get, default=None)
    return None if name is None else (name, f"/studies/{studies[name]}/note")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
