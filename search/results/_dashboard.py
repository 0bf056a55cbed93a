"""`fusion-search dashboard`: optuna-dashboard on the studies' storage, loopback unless told otherwise."""

from __future__ import annotations

import errno
import sys

from fusion_search._errors import UserError
from fusion_search.storage import artifact_store, mask_url, open_storage
from fusion_search.storage import storage_url as url_of

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_dashboard(storage_url: str | None, host: str = "127.0.0.1", port: int = 8080,
                    artifact_dir: str | None = None) -> None:
    """Serve optuna-dashboard until interrupted (its own wsgiref server; fine for one person's browser), with the
    studies' artifact store (exported models) where there is one."""
    from optuna_dashboard import run_server

    storage = open_storage(storage_url)
    artifacts = artifact_store(url_of(storage), artifact_dir)
    if not 0 < port < 65536:
        raise UserError(f"--port must be 1..65535, got {port}")
    if host not in LOOPBACK:
        print(f"fusion-search: warning: the dashboard listens on {host}; anyone who reaches it can "
              "rename and delete studies (it has no login)", file=sys.stderr)
    print(f"optuna-dashboard for {mask_url(url_of(storage))} at http://{_url_host(host)}:{port}/dashboard "
          "(Ctrl+C stops it)", file=sys.stderr, flush=True)
    if artifacts is None:
        print("fusion-search: note: no --artifact-dir for this shared database, so exported models are not served "
              "(give the folder `export --artifact-dir` used)", file=sys.stderr)
    try:
        run_server(storage, host=host, port=port, artifact_store=artifacts)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is already in use; pick another with --port") from None
        raise UserError(f"cannot serve the dashboard on {host}:{port}: {error.strerror or error}") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
