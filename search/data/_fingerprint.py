"""The data's identity without re-reading an unchanged dataset on every start.

The fingerprint is, as it always was, the first 16 hex digits of one SHA-256 over the table's values and then
the bytes of every image in row order (so a study made before this memo still matches its data). A single hash
over everything cannot be updated file by file, so beside it a memo under the cache folder keeps, per image
file, its size, modification time and own content hash, and, per set of content hashes, the fingerprint they
gave. On the next start a file whose size and modification time are unchanged is not read; a changed one is
read and hashed again; when the content hashes are a set seen before (a file touched but not changed), its
fingerprint is known. Only data that really changed is read whole once more, in one pass that also
refreshes the memo. (A file rewritten with the same size within the same nanosecond timestamp is taken to be
unchanged, as make and git take it.)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from fusion_search.storage import cache_dir

MEMO_FOLDER = "fingerprints"  # under the cache folder: one small JSON file per list of image paths
UNREADABLE = b"<unreadable>"  # what a missing or unreadable image adds to the hash
KEPT_VERSIONS = 16  # fingerprints of the latest contents kept per path list


def images_fingerprint(head: "hashlib._Hash", paths: tuple[Path, ...]) -> str:
    """head (a SHA-256 fed the table's values) continued with every image's bytes, first 16 hex digits; reads
    only the images the memo does not know unchanged."""
    memo_path = cache_dir() / MEMO_FOLDER / f"{_paths_key(paths)}.json"
    memo = _load(memo_path)
    files, known = memo["files"], memo["fingerprints"]
    stats = [_stat(path) for path in paths]
    fresh = [stat is not None and files.get(str(path), [None, None])[:2] == list(stat)
             for path, stat in zip(paths, stats)]
    if not any(fresh):  # nothing known (a first start): one pass reads each file once for both hashes
        fingerprint, hashes = _read_all(head.copy(), paths, files, stats)
    else:
        hashes = [files[str(path)][2] if ok else _hash_file(path, files, stat)
                  for path, stat, ok in zip(paths, stats, fresh)]
        fingerprint = known.get(_combined(head, hashes))
        if fingerprint is None:  # content changed: the fingerprint needs every byte in order again
            fingerprint, hashes = _read_all(head.copy(), paths, files, stats)
    combined = _combined(head, hashes)
    if all(fresh) and known.get(combined) == fingerprint:
        return fingerprint
    known[combined] = fingerprint
    _save(memo_path, memo)
    return fingerprint


def _read_all(digest, paths, files: dict, stats) -> tuple[str, list[str]]:
    """The fingerprint the old way (every image's bytes into digest, in order), and each file's own hash."""
    hashes = []
    for path, stat in zip(paths, stats):
        content = _content(path)
        digest.update(UNREADABLE if content is None else content)
        hashes.append(_remember(path, stat, content, files))
    return digest.hexdigest()[:16], hashes


def _hash_file(path: Path, files: dict, stat) -> str:
    return _remember(path, stat, _content(path), files)


def _remember(path: Path, stat, content: bytes | None, files: dict) -> str:
    """content's own hash, noted in the memo for this path's size and time (an unreadable file is not noted)."""
    if content is None or stat is None:
        files.pop(str(path), None)
        return UNREADABLE.decode()
    own = hashlib.sha256(content).hexdigest()
    files[str(path)] = [*stat, own]
    return own


def _content(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _combined(head, hashes: list[str]) -> str:
    """The identity of the table's values and the images' contents, cheap to compute from the memo."""
    return hashlib.sha256((head.hexdigest() + "\n" + "\n".join(hashes)).encode()).hexdigest()


def _paths_key(paths: tuple[Path, ...]) -> str:
    return hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:24]


def _load(path: Path) -> dict:
    try:
        memo = json.loads(path.read_text())
        if isinstance(memo.get("files"), dict) and isinstance(memo.get("fingerprints"), dict):
            return memo
    except (OSError, ValueError, AttributeError):
        pass
    return {"files": {}, "fingerprints": {}}


def _save(path: Path, memo: dict) -> None:
    """Written whole or not at all (a partial file of this process's own, renamed: workers starting together
    may all write it); a memo that cannot be written only costs a re-read next time."""
    memo["fingerprints"] = dict(list(memo["fingerprints"].items())[-KEPT_VERSIONS:])
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(memo, separators=(",", ":")), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
