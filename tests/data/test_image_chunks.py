"""Images decoded chunk by chunk (into the cache, for predict): the same pixels as one whole decode."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search._errors import UserError
from fusion_search.data import decode_images, image_chunks, manifest_images, prepare_data, read_manifest
from tests.conftest import manifest_rows, write_rows


def test_chunks_of_images_join_to_the_whole_decode(demo_manifest):
    paths = read_manifest(demo_manifest).image_paths
    chunks = list(image_chunks(paths, 16, rows=7))
    assert [len(c) for c in chunks] == [7] * 8 + [4]
    assert np.array_equal(np.concatenate(chunks), decode_images(paths, 16))


def test_the_search_cache_and_manifest_images_are_one_entry_equal_to_a_whole_decode(demo_manifest, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    data = prepare_data(demo_manifest, k=3, fold_seed=0, image_sizes=(20,))
    whole = decode_images(data.manifest.image_paths, 20)
    assert np.array_equal(data.images(20), whole)
    assert np.array_equal(manifest_images(data.manifest, 20), whole)
    assert len(list(tmp_path.glob("images-20-*.npy"))) == 1


def test_without_caches_the_images_are_decoded_into_memory(demo_manifest):
    data = prepare_data(demo_manifest, k=3, fold_seed=0, caches=False)
    images = data.images(12)
    assert not isinstance(images, np.memmap)
    assert np.array_equal(images, decode_images(data.manifest.image_paths, 12))


def test_bad_images_are_all_named_after_the_last_chunk_and_no_cache_entry_is_left(demo_manifest, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path / "cache"))
    rows = manifest_rows(demo_manifest)
    rows[3]["image"] = str(tmp_path / "missing-a.png")
    rows[50]["image"] = str(tmp_path / "missing-b.png")
    manifest = write_rows(tmp_path / "bad.csv", rows)
    chunks = image_chunks(read_manifest(manifest).image_paths, 8, rows=10)
    assert len([next(chunks) for _ in range(6)]) == 6  # every chunk comes, the bad rows black
    with pytest.raises(UserError, match=r"2 image\(s\) missing or unreadable: row 5 .*row 52 "):
        next(chunks)
    with pytest.raises(UserError, match="row 5 .*row 52 "):
        prepare_data(manifest, k=3, fold_seed=0, image_sizes=(8,))
    assert not list((tmp_path / "cache").glob("images-*.npy"))
