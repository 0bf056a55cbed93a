"""`fusion-search storage-proxy`: loads only the storage layer (none of the modelling stack), so it starts at once."""

from __future__ import annotations

import argparse

from fusion_search.storage import refuse_password_flag, serve_storage_proxy


def dispatch(args: argparse.Namespace) -> int:
    refuse_password_flag(args.storage)
    serve_storage_proxy(args.storage, args.host, args.port)
    return 0
