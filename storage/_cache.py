"""Array caches shared by every trial and every local worker: decoded images, frozen-backbone features.

Each entry is one .npy file opened memory-mapped. Building is serialised by an flock on the entry's
lock file and published with an atomic rename, so several processes asking at once build it once
and nobody ever reads half a file.

Memory: an entry is written chunk by chunk with plain file writes, and ``read_rows`` reads rows of an
entry with plain file reads. Both go through the OS page cache only. Pages touched through the memory map
would instead stay mapped into the process (and count in its resident memory) for as long as the map lives,
so a worker that walked a whole entry through the map would hold it all.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import re
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

ENV_CACHE = "FUSION_SEARCH_CACHE"
DEFAULT_CACHE = "fusion-search-cache"  # beside the default SQLite study file
CHUNK_BYTES = 32 * 2**20  # what one chunk of a streamed build or read may hold in memory


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE) or DEFAULT_CACHE)


def cached_array(key: str, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The array stored under key, built by build() the first time (in whichever process gets there first)."""
    return _cached(key, lambda partial: np.save(partial, np.ascontiguousarray(build())))


def cached_rows(key: str, rows: int, chunks: Callable[[], Iterable[np.ndarray]]) -> np.ndarray:
    """The array of ``rows`` rows stored under key, built the first time from chunks(): consecutive blocks of
    rows (the first one fixes each row's shape and dtype), written as they come, so that the whole array is
    never in memory. An exception from the chunks leaves no entry."""
    return _cached(key, lambda partial: write_rows(partial, rows, chunks()))


def write_rows(path: Path, rows: int, chunks: Iterable[np.ndarray]) -> None:
    """A .npy file of ``rows`` rows written block by block (one block in memory at a time)."""
    with open(path, "wb") as handle:
        written = 0
        for chunk in chunks:
            chunk = np.ascontiguousarray(chunk)
            if written == 0:
                dtype, row_shape = chunk.dtype, chunk.shape[1:]
                header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                          "shape": (rows, *row_shape)}
                np.lib.format.write_array_header_1_0(handle, header)
            if chunk.shape[1:] != row_shape:
                raise ValueError(f"a chunk of shape {chunk.shape} does not continue rows of shape {row_shape}")
            if written + len(chunk) > rows:
                raise ValueError(f"the chunks hold more than {rows} rows")
            handle.write(chunk.astype(dtype, copy=False).tobytes())
            written += len(chunk)
        if written != rows:
            raise ValueError(f"the chunks held {written} rows, not {rows}")


def filled_rows(rows: int, chunks: Iterable[np.ndarray]) -> np.ndarray:
    """The chunks gathered into one in-memory array (what cached_rows stores, when nothing is cached)."""
    out = None
    start = 0
    for chunk in chunks:
        if out is None:
            out = np.empty((rows, *chunk.shape[1:]), dtype=chunk.dtype)
        out[start:start + len(chunk)] = chunk
        start += len(chunk)
    if start != rows:
        raise ValueError(f"the chunks held {start} rows, not {rows}")
    return out


def chunk_rows(row_bytes: int) -> int:
    """How many rows of row_bytes each make one chunk (at least one)."""
    return max(1, CHUNK_BYTES // max(1, int(row_bytes)))


def read_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """array[rows] as a new in-memory array. For a cache entry (a whole memory-mapped .npy) the rows are read
    from its file, each run of consecutive rows with one read, so no page of the map becomes resident."""
    rows = np.asarray(rows, dtype=np.int64)
    if not _is_whole_file_map(array):
        return np.asarray(array[rows])
    if len(rows) and (rows.min() < -len(array) or rows.max() >= len(array)):
        raise IndexError(f"row index out of range for an array of {len(array)} rows")
    rows = np.where(rows < 0, rows + len(array), rows)
    out = np.empty((len(rows), *array.shape[1:]), dtype=array.dtype)
    if not len(rows) or not out.nbytes:
        return out
    row_bytes = out[0].nbytes
    view = memoryview(out.reshape(-1).view(np.uint8))
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    with open(array.filename, "rb", buffering=0) as handle:
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
            _read_exactly(handle.fileno(), view[start * row_bytes:stop * row_bytes],
                          array.offset + int(rows[start]) * row_bytes)
    return out


def _read_exactly(fd: int, target: memoryview, offset: int) -> None:
    while len(target):
        got = os.preadv(fd, [target], offset)
        if got <= 0:
            raise OSError(f"cache file ended early at byte {offset}")
        target, offset = target[got:], offset + got


def _is_whole_file_map(array: np.ndarray) -> bool:
    """A read-only map of a whole C-ordered .npy (np.load(mmap_mode='r')), not a view of one."""
    return (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap) and array.filename is not None
            and array.flags.c_contiguous and array.ndim >= 1)


def _cached(key: str, write: Callable[[Path], None]) -> np.ndarray:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(key)}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    with open(folder / f"{_safe(key)}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
            try:
                write(partial)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", key)
