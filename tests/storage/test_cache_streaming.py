"""Cache entries built chunk by chunk and read row by row: the same arrays, never whole in memory."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.storage import cached_rows, read_rows

ROWS = 1000


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    return tmp_path


def _array(rows: int = ROWS) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (rows, 4, 5, 3), dtype=np.uint8)


def _chunks(array: np.ndarray, rows: int):
    return lambda: (array[start:start + rows] for start in range(0, len(array), rows))


def test_an_entry_built_in_chunks_equals_the_whole_array_and_comes_back_memory_mapped(cache):
    array = _array()
    entry = cached_rows("chunked", ROWS, _chunks(array, 77))
    assert isinstance(entry, np.memmap) and entry.shape == array.shape and entry.dtype == array.dtype
    assert np.array_equal(entry, array)
    assert np.array_equal(np.load(cache / "chunked.npy"), array)


def test_an_existing_entry_is_not_built_again(cache):
    cached_rows("once", ROWS, _chunks(_array(), 100))

    def never():
        raise AssertionError("built twice")

    assert np.array_equal(cached_rows("once", ROWS, never), _array())


def test_a_build_that_fails_after_its_chunks_leaves_no_entry(cache):
    def failing():
        yield _array()[:500]
        raise ValueError("a bad row, found at the end")

    with pytest.raises(ValueError, match="bad row"):
        cached_rows("failed", ROWS, failing)
    assert not list(cache.glob("failed*.npy"))
    assert np.array_equal(cached_rows("failed", ROWS, _chunks(_array(), 300)), _array())


@pytest.mark.parametrize("rows", [ROWS - 1, ROWS + 1])
def test_chunks_that_do_not_add_up_to_the_rows_are_refused(cache, rows):
    with pytest.raises(ValueError, match="rows"):
        cached_rows(f"short-{rows}", rows, _chunks(_array(), 64))
    assert not list(cache.glob("short*.npy"))


def test_read_rows_of_an_entry_equals_indexing_in_any_order(cache):
    array = _array()
    entry = cached_rows("read", ROWS, _chunks(array, 128))
    rows = np.r_[np.random.default_rng(1).permutation(ROWS)[:300], 5, 6, 7, 8, 999, 0, -1]
    assert np.array_equal(read_rows(entry, rows), array[rows])
    assert np.array_equal(read_rows(entry, np.arange(ROWS)), array)
    assert read_rows(entry, np.array([], dtype=int)).shape == (0, 4, 5, 3)
    assert np.array_equal(read_rows(entry[10:], np.array([0, 3])), array[[10, 13]])  # a view: indexed as it is
    assert np.array_equal(read_rows(array, rows), array[rows])  # an in-memory array too
    with pytest.raises(IndexError):
        read_rows(entry, np.array([ROWS]))


def _resident_file_pages_kib() -> int:
    status = open("/proc/self/status").read()
    return int(next(line for line in status.splitlines() if line.startswith("RssFile:")).split()[1])


@pytest.mark.skipif(not open("/proc/self/status").read().count("RssFile"), reason="needs Linux /proc")
def test_reading_every_row_of_an_entry_does_not_keep_it_in_the_process(cache):
    rows, row = 4096, np.full((64, 64, 3), 7, dtype=np.uint8)  # 48 MiB
    entry = cached_rows("big", rows, lambda: (np.broadcast_to(row, (512, 64, 64, 3)) for _ in range(rows // 512)))
    before = _resident_file_pages_kib()
    total = 0
    for start in range(0, rows, 256):
        total += int(read_rows(entry, np.arange(start, start + 256))[:, 0, 0, 0].sum())
    assert total == 7 * rows
    assert _resident_file_pages_kib() - before < 8 * 1024  # through the map it would be ~48 MiB
